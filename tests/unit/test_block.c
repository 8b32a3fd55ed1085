/*  =========================================================================
    test_block - decoding, building, commits and every verdict of the
    patent's rule (cc_block_verify)

    Each test builds a small world: a store, the state of a fixture genesis
    (1 CA, or 1 CA and 3 validators) and the keys of V(h); blocks are built
    by the scheduled proposer, sealed with commits signed by the members'
    keys and committed by hand (the chain module has its own tests). A
    refused block is then crafted from a valid one by decoding it, changing
    one thing and, where the test needs a consistent block, fixing the tx
    root and re-signing the header with the proper proposer. Every refusal
    asserts its specific verdict and that the state did not move.
    =========================================================================
*/

#include "fixture.h"

#include "block.h"
#include "state.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ACCOUNTS 8
#define S_BALANCE 1000000
#define S_ROGUE 10000u          //  first key never certified

//  --- The test world ------------------------------------------------------------

typedef struct {
    char *dir;                          //  store directory
    cc_genesis_t *genesis;              //  fixture genesis
    cc_store_t *store;                  //  the world's store
    cc_state_t *state;                  //  committed state
    cc_keypair_t *keys [8];             //  CA and validator keys (any member of V)
    size_t key_count;                   //  keys in use
    uint8_t tip_hash [CC_HASH_SIZE];    //  hash of the last committed block
    uint64_t tip_time;                  //  its time
    Certchain__Commit *last_commit;     //  its commit, NULL at height 0
} s_world_t;

static s_world_t *
s_world_new (const char *name, size_t validators, uint32_t max_txs, uint32_t max_bytes)
{
    s_world_t *self = (s_world_t *) calloc (1, sizeof (s_world_t));
    ck_assert_ptr_nonnull (self);
    self->dir = fixture_tempdir (name);
    self->genesis = fixture_genesis (1, validators - 1, S_ACCOUNTS, S_BALANCE);
    ck_assert_ptr_nonnull (self->genesis);
    if (max_txs)
        cc_genesis_params (self->genesis)->max_block_txs = max_txs;
    if (max_bytes)
        cc_genesis_params (self->genesis)->max_block_bytes = max_bytes;
    const char *const families [] = {CC_STATE_FAMILY, NULL};
    cc_reason_t reason;
    self->store = cc_store_open (self->dir, families, 0, &reason);
    ck_assert_msg (self->store != NULL, "%s", reason.text);
    self->state = cc_state_new (self->store, self->genesis, &reason);
    ck_assert_msg (self->state != NULL, "%s", reason.text);
    self->keys [self->key_count++] = fixture_keypair (FIXTURE_CA (0));
    for (size_t index = 0; index + 1 < validators; index++)
        self->keys [self->key_count++] = fixture_keypair (FIXTURE_VALIDATOR (index));
    memcpy (self->tip_hash, cc_genesis_hash (self->genesis), CC_HASH_SIZE);
    self->tip_time = FIXTURE_GENESIS_TIME_MS;
    return self;
}

static void
s_world_destroy (s_world_t **self_p)
{
    s_world_t *self = *self_p;
    cc_commit_destroy (&self->last_commit);
    cc_state_destroy (&self->state);
    cc_store_destroy (&self->store);
    cc_genesis_destroy (&self->genesis);
    for (size_t index = 0; index < self->key_count; index++)
        cc_keypair_destroy (&self->keys [index]);
    fixture_rmtree (self->dir);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

static uint64_t
s_height (s_world_t *self)
{
    return cc_state_height (self->state);
}

//  The world's key for a public key (NULL if it holds none).
static cc_keypair_t *
s_key_of (s_world_t *self, const uint8_t *pubkey)
{
    for (size_t index = 0; index < self->key_count; index++)
        if (memcmp (cc_keypair_public (self->keys [index]), pubkey, CC_PUBKEY_SIZE) == 0)
            return self->keys [index];
    return NULL;
}

//  The key scheduled to propose (next height, round).
static cc_keypair_t *
s_scheduled (s_world_t *self, uint32_t round)
{
    uint64_t height = s_height (self) + 1;
    cc_valset_t *valset = cc_state_valset (self->state, height);
    cc_keypair_t *key = s_key_of (self, cc_valset_proposer (valset, height, round));
    cc_valset_destroy (&valset);
    ck_assert_ptr_nonnull (key);
    return key;
}

//  A commit for block (height, round) by the first `count` members of
//  V(height) in key order.
static Certchain__Commit *
s_commit_of (s_world_t *self, uint64_t height, uint32_t round, const uint8_t *block_hash,
             size_t count)
{
    cc_valset_t *valset = cc_state_valset (self->state, height);
    ck_assert_ptr_nonnull (valset);
    Certchain__Commit *commit = cc_commit_new (height, round, block_hash);
    for (size_t index = 0; index < count; index++) {
        cc_keypair_t *key = s_key_of (self, cc_valset_member (valset, index));
        ck_assert_ptr_nonnull (key);
        Certchain__Signed vote;
        ck_assert_int_eq (cc_vote_sign (key, FIXTURE_CHAIN, CERTCHAIN__VOTE_TYPE__PRECOMMIT,
                                        height, round, block_hash, &vote), 0);
        ck_assert_int_eq (cc_commit_add (commit, &vote), 0);
        cc_signed_clear (&vote);
    }
    cc_valset_destroy (&valset);
    return commit;
}

//  A commit of every member of V(height) for block.
static Certchain__Commit *
s_full_commit (s_world_t *self, cc_block_t *block)
{
    cc_valset_t *valset = cc_state_valset (self->state, cc_block_height (block));
    size_t size = cc_valset_size (valset);
    cc_valset_destroy (&valset);
    return s_commit_of (self, cc_block_height (block), cc_block_round (block),
                        cc_block_hash (block), size);
}

//  Builds the next block by key (NULL = the scheduled proposer).
static cc_block_t *
s_build (s_world_t *self, cc_keypair_t *key, uint32_t round, cc_tx_t **txs, size_t count,
         cc_exec_t **exec_p)
{
    cc_block_build_args_t args = {
        .state = self->state,
        .proposer = key ? key : s_scheduled (self, round),
        .height = s_height (self) + 1,
        .round = round,
        .time_ms = self->tip_time + 1000,
        .parent_hash = self->tip_hash,
        .last_commit = self->last_commit,
        .candidates = txs,
        .count = count,
    };
    cc_reason_t reason;
    cc_block_t *block = cc_block_build (&args, exec_p, &reason);
    ck_assert_msg (block != NULL, "build: %s", reason.text);
    return block;
}

static int
s_verify (s_world_t *self, cc_block_t *block, bool require_commit, cc_exec_t **exec_p,
          cc_reason_t *reason)
{
    cc_block_parent_t parent = {self->tip_hash, self->tip_time};
    cc_block_verify_opts_t opts = {.require_commit = require_commit};
    return cc_block_verify (block, self->state, &parent, &opts, exec_p, reason);
}

//  Commits block with exec (both taken) the way the chain module does.
static void
s_accept (s_world_t *self, cc_block_t **block_p, cc_exec_t **exec_p)
{
    cc_block_t *block = *block_p;
    if (!cc_block_commit (block)) {
        Certchain__Commit *commit = s_full_commit (self, block);
        ck_assert_int_eq (cc_block_set_commit (block, commit), 0);
        cc_commit_destroy (&commit);
    }
    cc_batch_t *batch = cc_store_batch (self->store);
    ck_assert_int_eq (cc_exec_write (*exec_p, batch), 0);
    ck_assert_int_eq (cc_store_commit (self->store, &batch, true), 0);
    cc_state_commit (self->state, exec_p);
    memcpy (self->tip_hash, cc_block_hash (block), CC_HASH_SIZE);
    self->tip_time = cc_block_time (block);
    cc_commit_destroy (&self->last_commit);
    //  Keep a copy of the block's commit: the next block's last commit.
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_codec_pack (&cc_block_commit (block)->base, CC_BLOCK_MAX_SIZE, &data,
                                     &size), 0);
    self->last_commit = (Certchain__Commit *) cc_codec_unpack (
        &certchain__commit__descriptor, data, size, CC_BLOCK_MAX_SIZE, NULL);
    free (data);
    cc_block_destroy (block_p);
}

//  Builds, verifies (as a proposal) and commits the next block of txs
//  (borrowed).
static void
s_advance (s_world_t *self, cc_tx_t **txs, size_t count)
{
    cc_exec_t *exec = NULL;
    cc_block_t *block = s_build (self, NULL, 0, txs, count, &exec);
    ck_assert_uint_eq (cc_block_tx_count (block), count);
    s_accept (self, &block, &exec);
}

//  --- What must not move when a block is refused ------------------------------

typedef struct {
    uint64_t height;                    //  state height
    uint8_t app_hash [CC_HASH_SIZE];    //  state app hash
    uint64_t balances [S_ACCOUNTS];     //  account balances
    uint64_t nonces [S_ACCOUNTS];       //  account nonces
} s_snapshot_t;

static void
s_snapshot (s_world_t *self, s_snapshot_t *snapshot)
{
    snapshot->height = s_height (self);
    memcpy (snapshot->app_hash, cc_state_app_hash (self->state), CC_HASH_SIZE);
    for (size_t index = 0; index < S_ACCOUNTS; index++) {
        cc_keypair_t *key = fixture_keypair (FIXTURE_ACCOUNT (index));
        cc_state_account (self->state, cc_keypair_public (key), &snapshot->balances [index],
                          &snapshot->nonces [index]);
        cc_keypair_destroy (&key);
    }
}

static void
s_assert_unchanged (s_world_t *self, const s_snapshot_t *before)
{
    s_snapshot_t after;
    s_snapshot (self, &after);
    ck_assert_uint_eq (after.height, before->height);
    ck_assert_mem_eq (after.app_hash, before->app_hash, CC_HASH_SIZE);
    ck_assert_mem_eq (after.balances, before->balances, sizeof (after.balances));
    ck_assert_mem_eq (after.nonces, before->nonces, sizeof (after.nonces));
}

//  Verifies block (taken) and asserts the verdict code; unchanged state.
static void
s_expect (s_world_t *self, cc_block_t **block_p, bool require_commit, int code)
{
    s_snapshot_t before;
    s_snapshot (self, &before);
    cc_reason_t reason;
    cc_exec_t *exec = NULL;
    int rc = s_verify (self, *block_p, require_commit, &exec, &reason);
    ck_assert_msg (rc == code, "expected %s, got %s: %s", cc_error_name (code),
                   cc_error_name (rc), reason.text);
    if (code != 0) {
        ck_assert_ptr_null (exec);
        ck_assert_int_eq (reason.code, code);
        ck_assert (strlen (reason.text) > 0);
    }
    cc_exec_destroy (&exec);
    cc_block_destroy (block_p);
    s_assert_unchanged (self, &before);
}

//  --- Transactions ----------------------------------------------------------------

//  A transfer of amount from account `from` to account `to`, fee 1.
static cc_tx_t *
s_transfer (size_t from, size_t to, uint64_t amount, uint64_t nonce)
{
    cc_keypair_t *sender = fixture_keypair (FIXTURE_ACCOUNT (from));
    cc_keypair_t *recipient = fixture_keypair (FIXTURE_ACCOUNT (to));
    cc_tx_t *tx = fixture_transfer (sender, cc_keypair_public (recipient), amount, 1, nonce);
    cc_keypair_destroy (&sender);
    cc_keypair_destroy (&recipient);
    ck_assert_ptr_nonnull (tx);
    return tx;
}

static void
s_txs_destroy (cc_tx_t **txs, size_t count)
{
    for (size_t index = 0; index < count; index++)
        cc_tx_destroy (&txs [index]);
}

static uint64_t
s_balance (s_world_t *self, size_t account)
{
    cc_keypair_t *key = fixture_keypair (FIXTURE_ACCOUNT (account));
    uint64_t balance = 0, nonce = 0;
    cc_state_account (self->state, cc_keypair_public (key), &balance, &nonce);
    cc_keypair_destroy (&key);
    return balance;
}

//  --- Crafting blocks ----------------------------------------------------------------

typedef void (s_mutate_fn) (Certchain__Block *block, Certchain__BlockHeader *header,
                            void *argument);

//  A new block from block (borrowed, with its commit if any) changed by fn;
//  the header is re-signed by signer unless signer is NULL.
static cc_block_t *
s_mutate (cc_block_t *block, cc_keypair_t *signer, s_mutate_fn *fn, void *argument)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_block_encode (block, true, &data, &size), 0);
    Certchain__Block *message = (Certchain__Block *) cc_codec_unpack (
        &certchain__block__descriptor, data, size, CC_BLOCK_MAX_SIZE, NULL);
    free (data);
    ck_assert_ptr_nonnull (message);
    Certchain__BlockHeader *header = (Certchain__BlockHeader *) cc_codec_unpack (
        &certchain__block_header__descriptor, message->header.data, message->header.len,
        CC_BLOCK_HEADER_MAX_SIZE, NULL);
    ck_assert_ptr_nonnull (header);
    fn (message, header, argument);
    free (message->header.data);
    ck_assert_int_eq (cc_codec_pack (&header->base, CC_BLOCK_HEADER_MAX_SIZE,
                                     &message->header.data, &message->header.len), 0);
    if (signer)
        cc_keypair_sign (signer, CC_DOMAIN_BLOCK, FIXTURE_CHAIN, message->header.data,
                         message->header.len, message->proposer_signature.data);
    ck_assert_int_eq (cc_codec_pack (&message->base, CC_BLOCK_MAX_SIZE, &data, &size), 0);
    certchain__block_header__free_unpacked (header, NULL);
    certchain__block__free_unpacked (message, NULL);
    cc_reason_t reason;
    cc_block_t *mutated = cc_block_decode (data, size, &reason);
    free (data);
    ck_assert_msg (mutated != NULL, "mutated block does not decode: %s", reason.text);
    return mutated;
}

//  Recomputes tx_root and tx_count from the block's txs.
static void
s_fix_root (Certchain__Block *block, Certchain__BlockHeader *header)
{
    uint8_t *leaves = (uint8_t *) malloc ((block->n_txs + 1) * CC_HASH_SIZE);
    for (size_t index = 0; index < block->n_txs; index++)
        cc_hash (block->txs [index]->body.data, block->txs [index]->body.len,
                 leaves + index * CC_HASH_SIZE);
    cc_merkle_root (leaves, block->n_txs, header->tx_root.data);
    free (leaves);
    header->tx_count = (uint32_t) block->n_txs;
}

//  Appends a copy of tx's envelope to block.
static void
s_append_tx (Certchain__Block *block, cc_tx_t *tx)
{
    block->txs = (Certchain__Signed **) realloc (block->txs,
                                                 (block->n_txs + 1) * sizeof (void *));
    Certchain__Signed *copy = (Certchain__Signed *) malloc (sizeof (Certchain__Signed));
    ck_assert_int_eq (cc_signed_copy (cc_tx_envelope (tx), copy), 0);
    block->txs [block->n_txs++] = copy;
}

static void
s_bump_height (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    header->height += 1;
}

static void
s_flip_parent (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    header->parent_hash.data [0] ^= 1;
}

static void
s_flip_valset (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    header->valset_hash.data [3] ^= 1;
}

static void
s_flip_app_hash (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    header->app_hash.data [31] ^= 1;
}

static void
s_set_time (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    header->time_ms = *(uint64_t *) argument;
}

static void
s_flip_signature (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    block->proposer_signature.data [7] ^= 1;
}

static void
s_nothing (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
}

//  --- Build, verify, commit -----------------------------------------------------------

//  Runs `heights` blocks of transfers through a proposer world and a second,
//  independent verifier world that re-executes each block (commit required).
static void
s_run_heights (size_t validators, size_t heights)
{
    s_world_t *proposer = s_world_new ("block-p", validators, 0, 0);
    s_world_t *verifier = s_world_new ("block-v", validators, 0, 0);
    uint64_t nonce = 0;
    for (size_t step = 0; step < heights; step++) {
        nonce++;
        cc_tx_t *txs [3] = {s_transfer (0, 1, 10, nonce), s_transfer (2, 3, 20, nonce),
                            s_transfer (4, 0, 5, nonce)};
        cc_exec_t *exec = NULL;
        uint32_t round = (uint32_t) (step % 2);
        cc_block_t *block = s_build (proposer, NULL, round, txs, 3, &exec);
        ck_assert_uint_eq (cc_block_height (block), step + 1);
        ck_assert_uint_eq (cc_block_tx_count (block), 3);
        ck_assert_uint_eq (cc_block_round (block), round);
        ck_assert_mem_eq (cc_block_parent_hash (block), proposer->tip_hash, CC_HASH_SIZE);
        ck_assert_ptr_null (cc_block_commit (block));
        if (step == 0)
            ck_assert_ptr_null (cc_block_last_commit (block));
        else
            ck_assert_ptr_nonnull (cc_block_last_commit (block));

        //  The proposer's own check of the proposal (no commit yet) agrees.
        cc_reason_t reason;
        cc_exec_t *check = NULL;
        int rc = s_verify (proposer, block, false, &check, &reason);
        ck_assert_msg (rc == 0, "%s", reason.text);
        cc_exec_destroy (&check);
        //  Without a commit a syncing node refuses it.
        ck_assert_int_eq (s_verify (verifier, block, true, NULL, &reason),
                          CC_E_COMMIT_BELOW_QUORUM);

        Certchain__Commit *commit = s_full_commit (proposer, block);
        ck_assert_int_eq (cc_block_set_commit (block, commit), 0);
        cc_commit_destroy (&commit);
        uint8_t *data = NULL;
        size_t size = 0;
        ck_assert_int_eq (cc_block_encode (block, true, &data, &size), 0);
        s_accept (proposer, &block, &exec);

        //  The verifier receives the bytes and re-executes them.
        cc_block_t *received = cc_block_decode (data, size, &reason);
        free (data);
        ck_assert_ptr_nonnull (received);
        rc = s_verify (verifier, received, true, &exec, &reason);
        ck_assert_msg (rc == 0, "height %zu: %s", step + 1, reason.text);
        ck_assert_ptr_nonnull (exec);
        s_accept (verifier, &received, &exec);
        ck_assert_uint_eq (s_height (verifier), step + 1);
        ck_assert_mem_eq (cc_state_app_hash (verifier->state),
                          cc_state_app_hash (proposer->state), CC_HASH_SIZE);
        ck_assert_mem_eq (verifier->tip_hash, proposer->tip_hash, CC_HASH_SIZE);
        s_txs_destroy (txs, 3);
    }
    //  Balances moved: account 1 received 10 per height, paid nothing.
    ck_assert_uint_eq (s_balance (verifier, 1), S_BALANCE + 10 * heights);
    ck_assert_uint_eq (s_balance (verifier, 0), S_BALANCE - 11 * heights + 5 * heights);
    s_world_destroy (&proposer);
    s_world_destroy (&verifier);
}

START_TEST (test_heights_one_validator)
{
    s_run_heights (1, 4);
}
END_TEST

START_TEST (test_heights_four_validators)
{
    s_run_heights (4, 6);
}
END_TEST

START_TEST (test_encode_decode_roundtrip)
{
    s_world_t *world = s_world_new ("block-rt", 1, 0, 0);
    cc_tx_t *txs [2] = {s_transfer (0, 1, 10, 1), s_transfer (1, 0, 10, 1)};
    cc_block_t *block = s_build (world, NULL, 0, txs, 2, NULL);
    uint8_t *without = NULL, *with = NULL;
    size_t without_size = 0, with_size = 0;
    ck_assert_int_eq (cc_block_encode (block, false, &without, &without_size), 0);
    ck_assert_uint_eq (without_size, cc_block_size (block));
    Certchain__Commit *commit = s_full_commit (world, block);
    ck_assert_int_eq (cc_block_set_commit (block, commit), 0);
    cc_commit_destroy (&commit);
    ck_assert_int_eq (cc_block_encode (block, true, &with, &with_size), 0);
    ck_assert_uint_gt (with_size, without_size);
    //  Same block, same hash, same size without the commit.
    cc_reason_t reason;
    cc_block_t *decoded = cc_block_decode (with, with_size, &reason);
    ck_assert_ptr_nonnull (decoded);
    ck_assert_mem_eq (cc_block_hash (decoded), cc_block_hash (block), CC_HASH_SIZE);
    ck_assert_uint_eq (cc_block_size (decoded), without_size);
    ck_assert_uint_eq (cc_block_tx_count (decoded), 2);
    ck_assert_mem_eq (cc_tx_hash (cc_block_tx (decoded, 1)), cc_tx_hash (txs [1]), CC_HASH_SIZE);
    ck_assert_ptr_null (cc_block_tx (decoded, 2));
    ck_assert_ptr_nonnull (cc_block_commit (decoded));
    ck_assert_str_eq (cc_block_chain_id (decoded), FIXTURE_CHAIN);
    ck_assert_uint_eq (cc_block_time (decoded), FIXTURE_GENESIS_TIME_MS + 1000);
    ck_assert_uint_eq (cc_block_header (decoded)->tx_count, 2);
    //  Peeking reads the same height and hash from the bytes alone.
    uint64_t peeked_height = 0;
    uint8_t peeked_hash [CC_HASH_SIZE];
    ck_assert_int_eq (cc_block_peek (with, with_size, &peeked_height, peeked_hash), 0);
    ck_assert_uint_eq (peeked_height, cc_block_height (block));
    ck_assert_mem_eq (peeked_hash, cc_block_hash (block), CC_HASH_SIZE);
    //  ... and refuses what has no readable header.
    const uint8_t junk [] = {0xff, 0xff, 0xff, 0x01};
    const uint8_t no_header [] = {0x12, 0x01, 0x00};            //  field 2 only
    const uint8_t cut_header [] = {0x0a, 0x05, 0x08};           //  length past the end
    const uint8_t bad_header [] = {0x0a, 0x02, 0x08, 0xff};     //  varint cut short
    ck_assert_int_eq (cc_block_peek (junk, sizeof (junk), &peeked_height, peeked_hash),
                      CC_E_MALFORMED);
    ck_assert_int_eq (cc_block_peek (no_header, sizeof (no_header), &peeked_height,
                                     peeked_hash), CC_E_MALFORMED);
    ck_assert_int_eq (cc_block_peek (cut_header, sizeof (cut_header), &peeked_height,
                                     peeked_hash), CC_E_MALFORMED);
    ck_assert_int_eq (cc_block_peek (bad_header, sizeof (bad_header), &peeked_height,
                                     peeked_hash), CC_E_MALFORMED);
    ck_assert_int_eq (cc_block_peek (NULL, 0, &peeked_height, peeked_hash), CC_E_MALFORMED);
    size_t big_size = CC_BLOCK_HEADER_MAX_SIZE + 3;
    uint8_t *big = (uint8_t *) calloc (1, big_size);
    big [0] = 0x0a;                                             //  header of 1025 bytes
    big [1] = (uint8_t) (0x80 | ((CC_BLOCK_HEADER_MAX_SIZE + 1) & 0x7f));
    big [2] = (uint8_t) ((CC_BLOCK_HEADER_MAX_SIZE + 1) >> 7);
    ck_assert_int_eq (cc_block_peek (big, big_size, &peeked_height, peeked_hash),
                      CC_E_MALFORMED);                          //  one byte short
    uint8_t *bigger = (uint8_t *) calloc (1, big_size + 1);
    memcpy (bigger, big, 3);
    ck_assert_int_eq (cc_block_peek (bigger, big_size + 1, &peeked_height, peeked_hash),
                      CC_E_OVERSIZE);
    free (big);
    free (bigger);
    //  Removing the commit gives the proposal bytes back.
    ck_assert_int_eq (cc_block_set_commit (decoded, NULL), 0);
    uint8_t *again = NULL;
    size_t again_size = 0;
    ck_assert_int_eq (cc_block_encode (decoded, true, &again, &again_size), 0);
    ck_assert_uint_eq (again_size, without_size);
    ck_assert_mem_eq (again, without, without_size);
    //  A commit with a short block hash is refused.
    Certchain__Commit bad = CERTCHAIN__COMMIT__INIT;
    ck_assert_int_eq (cc_block_set_commit (decoded, &bad), CC_E_BAD_FIELD);
    free (without);
    free (with);
    free (again);
    cc_block_destroy (&decoded);
    cc_block_destroy (&block);
    cc_block_destroy (&block);      //  safe on NULL
    s_txs_destroy (txs, 2);
    s_world_destroy (&world);
}
END_TEST

//  --- Building -----------------------------------------------------------------------

typedef struct {
    size_t count;           //  rejections seen
    size_t index [8];       //  candidate index of each
    int code [8];           //  its code
} s_rejects_t;

static void
s_on_reject (void *argument, cc_tx_t *tx, size_t index, int code, const cc_reason_t *reason)
{
    s_rejects_t *rejects = (s_rejects_t *) argument;
    ck_assert_int_eq (reason->code, code);
    if (rejects->count < 8) {
        rejects->index [rejects->count] = index;
        rejects->code [rejects->count] = code;
    }
    rejects->count++;
}

START_TEST (test_build_limits_and_rejects)
{
    s_world_t *world = s_world_new ("block-build", 1, 0, 0);
    cc_tx_t *txs [10];
    for (size_t index = 0; index < 10; index++)
        txs [index] = s_transfer (index % 2, 2, 10, index / 2 + 1);
    //  max_txs: the first four, in order.
    cc_block_build_args_t args = {
        .state = world->state,
        .proposer = s_scheduled (world, 0),
        .height = 1,
        .time_ms = FIXTURE_GENESIS_TIME_MS + 1,
        .parent_hash = world->tip_hash,
        .candidates = txs,
        .count = 10,
        .max_txs = 4,
    };
    cc_reason_t reason;
    cc_block_t *block = cc_block_build (&args, NULL, &reason);
    ck_assert_ptr_nonnull (block);
    ck_assert_uint_eq (cc_block_tx_count (block), 4);
    for (size_t index = 0; index < 4; index++)
        ck_assert_mem_eq (cc_tx_hash (cc_block_tx (block, index)), cc_tx_hash (txs [index]),
                          CC_HASH_SIZE);
    cc_block_destroy (&block);

    //  max_bytes: as many as fit, and the next one would not have fitted.
    args.max_txs = 0;
    args.max_bytes = 900;
    block = cc_block_build (&args, NULL, &reason);
    ck_assert_ptr_nonnull (block);
    size_t fitted = cc_block_tx_count (block);
    ck_assert_uint_gt (fitted, 0);
    ck_assert_uint_lt (fitted, 10);
    ck_assert_uint_le (cc_block_tx_bytes (block), 900);
    ck_assert_uint_gt (cc_block_tx_bytes (block) + cc_tx_size (txs [fitted]) + 3, 900);
    ck_assert_uint_gt (cc_block_size (block), cc_block_tx_bytes (block));
    ck_assert_int_eq (s_verify (world, block, false, NULL, &reason), 0);
    cc_block_destroy (&block);

    //  A failing candidate is reported with its code and left out; the
    //  others are packed. Candidate 2 has a nonce gap, 4 overspends.
    cc_tx_t *mixed [5] = {s_transfer (0, 1, 10, 1), s_transfer (0, 1, 10, 2),
                          s_transfer (1, 0, 10, 3), s_transfer (1, 0, 10, 1),
                          s_transfer (3, 0, S_BALANCE, 1)};
    s_rejects_t rejects = {0};
    args.candidates = mixed;
    args.count = 5;
    args.max_bytes = 0;
    args.on_reject = s_on_reject;
    args.reject_argument = &rejects;
    cc_exec_t *exec = NULL;
    block = cc_block_build (&args, &exec, &reason);
    ck_assert_ptr_nonnull (block);
    ck_assert_ptr_nonnull (exec);
    ck_assert_uint_eq (cc_block_tx_count (block), 3);
    ck_assert_uint_eq (rejects.count, 2);
    ck_assert_uint_eq (rejects.index [0], 2);
    ck_assert_int_eq (rejects.code [0], CC_E_NONCE_GAP);
    ck_assert_uint_eq (rejects.index [1], 4);
    ck_assert_int_eq (rejects.code [1], CC_E_INSUFFICIENT_BALANCE);
    ck_assert_uint_eq (cc_exec_tx_count (exec), 3);
    //  The returned exec is the block's: commit it without re-executing.
    s_accept (world, &block, &exec);
    ck_assert_uint_eq (s_height (world), 1);
    ck_assert_uint_eq (s_balance (world, 1), S_BALANCE + 20 - 11);

    //  Building on the wrong height, or at height 2 without a last commit.
    args.height = 1;
    args.on_reject = NULL;
    ck_assert_ptr_null (cc_block_build (&args, NULL, &reason));
    ck_assert_int_eq (reason.code, CC_E_WRONG_HEIGHT);
    args.height = 2;
    args.parent_hash = world->tip_hash;
    ck_assert_ptr_null (cc_block_build (&args, NULL, &reason));
    ck_assert_int_eq (reason.code, CC_E_BAD_LAST_COMMIT);

    s_txs_destroy (txs, 10);
    s_txs_destroy (mixed, 5);
    s_world_destroy (&world);
}
END_TEST

//  --- Verdicts: who produced the block ------------------------------------------------

START_TEST (test_unauthorized_proposer)
{
    s_world_t *world = s_world_new ("block-rogue", 1, 0, 0);
    //  The rogue producer: a never-certified key builds a well-formed block,
    //  signs it, and seals it with a commit of other uncertified keys.
    for (int pass = 0; pass < 2; pass++) {
        cc_keypair_t *rogue = fixture_keypair (S_ROGUE);
        cc_tx_t *txs [1] = {s_transfer (0, 1, 10, 1)};
        cc_block_t *block = s_build (world, rogue, 0, txs, 1, NULL);
        Certchain__Commit *commit = cc_commit_new (cc_block_height (block), 0,
                                                   cc_block_hash (block));
        for (unsigned index = 0; index < 4; index++) {
            cc_keypair_t *key = fixture_keypair (S_ROGUE + index);
            Certchain__Signed vote;
            ck_assert_int_eq (cc_vote_sign (key, FIXTURE_CHAIN,
                                            CERTCHAIN__VOTE_TYPE__PRECOMMIT,
                                            cc_block_height (block), 0, cc_block_hash (block),
                                            &vote), 0);
            ck_assert_int_eq (cc_commit_add (commit, &vote), 0);
            cc_signed_clear (&vote);
            cc_keypair_destroy (&key);
        }
        ck_assert_int_eq (cc_block_set_commit (block, commit), 0);
        cc_commit_destroy (&commit);
        cc_block_t *copy = s_mutate (block, NULL, s_nothing, NULL);
        s_expect (world, &block, true, CC_E_UNAUTHORIZED_PROPOSER);
        s_expect (world, &copy, false, CC_E_UNAUTHORIZED_PROPOSER);
        cc_keypair_destroy (&rogue);
        s_txs_destroy (txs, 1);
        //  Second pass at height 2, with a genuine last commit.
        if (pass == 0)
            s_advance (world, NULL, 0);
    }
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_revoked_proposer)
{
    //  Validator 1 is revoked in block 1: from height 2 it is no producer.
    s_world_t *world = s_world_new ("block-revoked", 4, 0, 0);
    cc_keypair_t *ca = fixture_keypair (FIXTURE_CA (0));
    cc_keypair_t *revoked = fixture_keypair (FIXTURE_VALIDATOR (1));
    cc_tx_t *txs [1] = {fixture_revoke (ca, cc_keypair_public (revoked), "test", 0, 1)};
    s_advance (world, txs, 1);
    cc_valset_t *valset = cc_state_valset (world->state, 2);
    ck_assert_uint_eq (cc_valset_size (valset), 3);
    //  Whatever round it picks, it is refused as unauthorized.
    for (uint32_t round = 0; round < 4; round++) {
        cc_block_t *block = s_build (world, revoked, round, NULL, 0, NULL);
        s_expect (world, &block, false, CC_E_UNAUTHORIZED_PROPOSER);
    }
    cc_valset_destroy (&valset);
    cc_keypair_destroy (&ca);
    cc_keypair_destroy (&revoked);
    s_txs_destroy (txs, 1);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_not_scheduled)
{
    s_world_t *world = s_world_new ("block-sched", 4, 0, 0);
    s_advance (world, NULL, 0);
    cc_keypair_t *scheduled = s_scheduled (world, 0);
    //  Every other member, out of turn in round 0, is refused...
    for (size_t index = 0; index < world->key_count; index++) {
        cc_keypair_t *key = world->keys [index];
        if (key == scheduled)
            continue;
        cc_block_t *block = s_build (world, key, 0, NULL, 0, NULL);
        s_expect (world, &block, false, CC_E_NOT_SCHEDULED);
        //  ...and accepted in the round where it is the proposer.
        uint32_t round = 0;
        while (s_scheduled (world, round) != key)
            round++;
        block = s_build (world, key, round, NULL, 0, NULL);
        s_expect (world, &block, false, 0);
    }
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_bad_proposer_signature)
{
    s_world_t *world = s_world_new ("block-sig", 4, 0, 0);
    s_advance (world, NULL, 0);
    cc_block_t *block = s_build (world, NULL, 0, NULL, 0, NULL);
    //  A flipped bit in the signature.
    cc_block_t *bad = s_mutate (block, NULL, s_flip_signature, NULL);
    s_expect (world, &bad, false, CC_E_BAD_PROPOSER_SIG);
    //  A header naming the scheduled proposer, signed by another key.
    cc_keypair_t *rogue = fixture_keypair (S_ROGUE);
    bad = s_mutate (block, rogue, s_nothing, NULL);
    s_expect (world, &bad, false, CC_E_BAD_PROPOSER_SIG);
    //  Another member's signature does not do either.
    cc_keypair_t *other = world->keys [0] == s_scheduled (world, 0) ? world->keys [1]
                                                                    : world->keys [0];
    bad = s_mutate (block, other, s_nothing, NULL);
    s_expect (world, &bad, false, CC_E_BAD_PROPOSER_SIG);
    //  A tampered header under the original signature.
    bad = s_mutate (block, NULL, s_flip_app_hash, NULL);
    s_expect (world, &bad, false, CC_E_BAD_PROPOSER_SIG);
    s_expect (world, &block, false, 0);
    cc_keypair_destroy (&rogue);
    s_world_destroy (&world);
}
END_TEST

//  --- Verdicts: the header ------------------------------------------------------------

START_TEST (test_header_verdicts)
{
    s_world_t *world = s_world_new ("block-header", 4, 0, 0);
    s_advance (world, NULL, 0);
    cc_tx_t *txs [2] = {s_transfer (0, 1, 10, 1), s_transfer (1, 2, 10, 1)};
    cc_keypair_t *proposer = s_scheduled (world, 0);
    cc_block_t *block = s_build (world, proposer, 0, txs, 2, NULL);
    Certchain__Commit *commit = s_full_commit (world, block);
    ck_assert_int_eq (cc_block_set_commit (block, commit), 0);
    cc_commit_destroy (&commit);

    //  Wrong chain: restore the static string before protobuf-c frees it.
    uint8_t *data = NULL;
    size_t size = 0;
    {
        ck_assert_int_eq (cc_block_encode (block, true, &data, &size), 0);
        Certchain__Block *message = (Certchain__Block *) cc_codec_unpack (
            &certchain__block__descriptor, data, size, CC_BLOCK_MAX_SIZE, NULL);
        free (data);
        Certchain__BlockHeader *header = (Certchain__BlockHeader *) cc_codec_unpack (
            &certchain__block_header__descriptor, message->header.data, message->header.len,
            CC_BLOCK_HEADER_MAX_SIZE, NULL);
        char *saved = header->chain_id;
        header->chain_id = (char *) "another-chain";
        free (message->header.data);
        cc_codec_pack (&header->base, CC_BLOCK_HEADER_MAX_SIZE, &message->header.data,
                       &message->header.len);
        header->chain_id = saved;
        cc_keypair_sign (proposer, CC_DOMAIN_BLOCK, "another-chain", message->header.data,
                         message->header.len, message->proposer_signature.data);
        cc_codec_pack (&message->base, CC_BLOCK_MAX_SIZE, &data, &size);
        certchain__block_header__free_unpacked (header, NULL);
        certchain__block__free_unpacked (message, NULL);
        cc_block_t *bad = cc_block_decode (data, size, NULL);
        free (data);
        ck_assert_ptr_nonnull (bad);
        s_expect (world, &bad, true, CC_E_WRONG_CHAIN);
    }
    cc_block_t *bad = s_mutate (block, proposer, s_bump_height, NULL);
    s_expect (world, &bad, true, CC_E_WRONG_HEIGHT);
    bad = s_mutate (block, proposer, s_flip_parent, NULL);
    s_expect (world, &bad, true, CC_E_WRONG_PARENT);
    bad = s_mutate (block, proposer, s_flip_valset, NULL);
    s_expect (world, &bad, true, CC_E_WRONG_VALSET_HASH);
    uint64_t early = world->tip_time - 1;
    bad = s_mutate (block, proposer, s_set_time, &early);
    s_expect (world, &bad, true, CC_E_BAD_TIME);
    //  The same time as the parent's is fine (the commit no longer matches
    //  a re-signed header, so verify it as a proposal).
    uint64_t same = world->tip_time;
    bad = s_mutate (block, proposer, s_set_time, &same);
    s_expect (world, &bad, false, 0);
    //  App hash altered and re-signed by the proper proposer.
    bad = s_mutate (block, proposer, s_flip_app_hash, NULL);
    s_expect (world, &bad, false, CC_E_WRONG_APP_HASH);
    //  The block as built and sealed is accepted.
    s_expect (world, &block, true, 0);
    s_txs_destroy (txs, 2);
    s_world_destroy (&world);
}
END_TEST

START_TEST (test_block_limits)
{
    s_world_t *world = s_world_new ("block-limits", 1, 4, 1500);
    cc_tx_t *txs [10];
    for (size_t index = 0; index < 10; index++)
        txs [index] = s_transfer (index, 0, 10, 1);
    //  The genesis limit caps the builder.
    cc_block_t *block = s_build (world, NULL, 0, txs, 8, NULL);
    ck_assert_uint_eq (cc_block_tx_count (block), 4);
    ck_assert_uint_le (cc_block_tx_bytes (block), 1500);
    cc_keypair_t *proposer = s_scheduled (world, 0);
    //  One tx too many, consistent otherwise.
    cc_block_t *bad = s_mutate (block, proposer, s_nothing, NULL);
    s_expect (world, &bad, false, 0);
    {
        uint8_t *data = NULL;
        size_t size = 0;
        ck_assert_int_eq (cc_block_encode (block, false, &data, &size), 0);
        Certchain__Block *message = (Certchain__Block *) cc_codec_unpack (
            &certchain__block__descriptor, data, size, CC_BLOCK_MAX_SIZE, NULL);
        free (data);
        s_append_tx (message, txs [5]);
        Certchain__BlockHeader *header = (Certchain__BlockHeader *) cc_codec_unpack (
            &certchain__block_header__descriptor, message->header.data, message->header.len,
            CC_BLOCK_HEADER_MAX_SIZE, NULL);
        s_fix_root (message, header);
        free (message->header.data);
        cc_codec_pack (&header->base, CC_BLOCK_HEADER_MAX_SIZE, &message->header.data,
                       &message->header.len);
        cc_keypair_sign (proposer, CC_DOMAIN_BLOCK, FIXTURE_CHAIN, message->header.data,
                         message->header.len, message->proposer_signature.data);
        cc_codec_pack (&message->base, CC_BLOCK_MAX_SIZE, &data, &size);
        certchain__block_header__free_unpacked (header, NULL);
        certchain__block__free_unpacked (message, NULL);
        bad = cc_block_decode (data, size, NULL);
        free (data);
        ck_assert_ptr_nonnull (bad);
        ck_assert_uint_eq (cc_block_tx_count (bad), 5);
        s_expect (world, &bad, false, CC_E_BLOCK_LIMITS);
    }
    //  Few txs, too many bytes: four revokes with long reasons.
    {
        char reason_text [CC_REASON_TEXT_MAX + 1];
        memset (reason_text, 'r', CC_REASON_TEXT_MAX);
        reason_text [CC_REASON_TEXT_MAX] = 0;
        cc_keypair_t *ca = fixture_keypair (FIXTURE_CA (0));
        cc_tx_t *revokes [4];
        for (size_t index = 0; index < 4; index++)
            revokes [index] = fixture_revoke (ca, cc_keypair_public (ca), reason_text, 0,
                                              index + 1);
        uint8_t *data = NULL;
        size_t size = 0;
        ck_assert_int_eq (cc_block_encode (block, false, &data, &size), 0);
        Certchain__Block *message = (Certchain__Block *) cc_codec_unpack (
            &certchain__block__descriptor, data, size, CC_BLOCK_MAX_SIZE, NULL);
        free (data);
        for (size_t index = 0; index < message->n_txs; index++)
            certchain__signed__free_unpacked (message->txs [index], NULL);
        message->n_txs = 0;
        for (size_t index = 0; index < 4; index++)
            s_append_tx (message, revokes [index]);
        Certchain__BlockHeader *header = (Certchain__BlockHeader *) cc_codec_unpack (
            &certchain__block_header__descriptor, message->header.data, message->header.len,
            CC_BLOCK_HEADER_MAX_SIZE, NULL);
        s_fix_root (message, header);
        free (message->header.data);
        cc_codec_pack (&header->base, CC_BLOCK_HEADER_MAX_SIZE, &message->header.data,
                       &message->header.len);
        cc_keypair_sign (proposer, CC_DOMAIN_BLOCK, FIXTURE_CHAIN, message->header.data,
                         message->header.len, message->proposer_signature.data);
        cc_codec_pack (&message->base, CC_BLOCK_MAX_SIZE, &data, &size);
        certchain__block_header__free_unpacked (header, NULL);
        certchain__block__free_unpacked (message, NULL);
        bad = cc_block_decode (data, size, NULL);
        free (data);
        ck_assert_ptr_nonnull (bad);
        ck_assert_uint_eq (cc_block_tx_count (bad), 4);
        ck_assert_uint_gt (cc_block_tx_bytes (bad), 1500);
        s_expect (world, &bad, false, CC_E_BLOCK_LIMITS);
        s_txs_destroy (revokes, 4);
        cc_keypair_destroy (&ca);
    }
    cc_block_destroy (&block);
    s_txs_destroy (txs, 10);
    s_world_destroy (&world);
}
END_TEST

//  --- Verdicts: commits ---------------------------------------------------------------

//  Sets a commit on a copy of block and expects a verdict (commit required).
static void
s_expect_commit (s_world_t *world, cc_block_t *block, Certchain__Commit **commit_p, int code)
{
    cc_block_t *copy = s_mutate (block, NULL, s_nothing, NULL);
    ck_assert_int_eq (cc_block_set_commit (copy, *commit_p), 0);
    cc_commit_destroy (commit_p);
    s_expect (world, &copy, true, code);
}

static void
s_add_vote (Certchain__Commit *commit, cc_keypair_t *key, Certchain__VoteType type,
            uint64_t height, uint32_t round, const uint8_t *hash)
{
    Certchain__Signed vote;
    ck_assert_int_eq (cc_vote_sign (key, FIXTURE_CHAIN, type, height, round, hash, &vote), 0);
    ck_assert_int_eq (cc_commit_add (commit, &vote), 0);
    cc_signed_clear (&vote);
}

START_TEST (test_commit_verdicts)
{
    s_world_t *world = s_world_new ("block-commit", 4, 0, 0);
    s_advance (world, NULL, 0);
    cc_block_t *block = s_build (world, NULL, 0, NULL, 0, NULL);
    uint64_t height = cc_block_height (block);
    const uint8_t *hash = cc_block_hash (block);
    cc_valset_t *valset = cc_state_valset (world->state, height);
    ck_assert_uint_eq (cc_valset_quorum (valset), 3);
    cc_keypair_t *members [4];
    for (size_t index = 0; index < 4; index++)
        members [index] = s_key_of (world, cc_valset_member (valset, index));
    cc_keypair_t *outsider = fixture_keypair (S_ROGUE);

    //  Quorum (3 of 4) is accepted, with the signers reported.
    Certchain__Commit *commit = s_commit_of (world, height, 0, hash, 3);
    uint8_t signers [4 * CC_PUBKEY_SIZE];
    size_t signer_count = 0;
    cc_reason_t reason;
    ck_assert_int_eq (cc_commit_verify (commit, FIXTURE_CHAIN, height, hash, valset, signers,
                                        &signer_count, &reason), 0);
    ck_assert_uint_eq (signer_count, 3);
    ck_assert_mem_eq (signers, cc_valset_member (valset, 0), CC_PUBKEY_SIZE);
    s_expect_commit (world, block, &commit, 0);
    //  Two of four: below quorum.
    commit = s_commit_of (world, height, 0, hash, 2);
    s_expect_commit (world, block, &commit, CC_E_COMMIT_BELOW_QUORUM);
    //  Two members and a duplicate of one: still two distinct signers.
    commit = s_commit_of (world, height, 0, hash, 2);
    s_add_vote (commit, members [1], CERTCHAIN__VOTE_TYPE__PRECOMMIT, height, 0, hash);
    ck_assert_uint_eq (commit->n_precommits, 3);
    s_expect_commit (world, block, &commit, CC_E_COMMIT_BELOW_QUORUM);
    //  Three members and a non-member: refused for the non-member.
    commit = s_commit_of (world, height, 0, hash, 3);
    s_add_vote (commit, outsider, CERTCHAIN__VOTE_TYPE__PRECOMMIT, height, 0, hash);
    s_expect_commit (world, block, &commit, CC_E_COMMIT_NON_MEMBER);
    //  A bad signature among valid ones.
    commit = s_commit_of (world, height, 0, hash, 4);
    commit->precommits [2]->signature.data [0] ^= 1;
    s_expect_commit (world, block, &commit, CC_E_COMMIT_BAD_SIG);
    //  A member's vote carried under another member's envelope signer.
    commit = s_commit_of (world, height, 0, hash, 3);
    memcpy (commit->precommits [0]->signer.data, cc_keypair_public (members [3]),
            CC_PUBKEY_SIZE);
    s_expect_commit (world, block, &commit, CC_E_COMMIT_BAD_SIG);
    //  A commit for another block hash, with votes for it.
    uint8_t other [CC_HASH_SIZE];
    cc_hash ("another block", 13, other);
    commit = s_commit_of (world, height, 0, other, 4);
    s_expect_commit (world, block, &commit, CC_E_COMMIT_MISMATCH);
    //  The right block hash, but votes for another block, a prevote, a nil
    //  vote, another round, another height.
    commit = s_commit_of (world, height, 0, hash, 2);
    s_add_vote (commit, members [3], CERTCHAIN__VOTE_TYPE__PRECOMMIT, height, 0, other);
    s_expect_commit (world, block, &commit, CC_E_COMMIT_MISMATCH);
    commit = s_commit_of (world, height, 0, hash, 2);
    s_add_vote (commit, members [3], CERTCHAIN__VOTE_TYPE__PREVOTE, height, 0, hash);
    s_expect_commit (world, block, &commit, CC_E_COMMIT_MISMATCH);
    commit = s_commit_of (world, height, 0, hash, 2);
    s_add_vote (commit, members [3], CERTCHAIN__VOTE_TYPE__PRECOMMIT, height, 0, NULL);
    s_expect_commit (world, block, &commit, CC_E_COMMIT_MISMATCH);
    commit = s_commit_of (world, height, 0, hash, 2);
    s_add_vote (commit, members [3], CERTCHAIN__VOTE_TYPE__PRECOMMIT, height, 1, hash);
    s_expect_commit (world, block, &commit, CC_E_COMMIT_MISMATCH);
    commit = s_commit_of (world, height, 0, hash, 2);
    s_add_vote (commit, members [3], CERTCHAIN__VOTE_TYPE__PRECOMMIT, height + 1, 0, hash);
    s_expect_commit (world, block, &commit, CC_E_COMMIT_MISMATCH);
    //  A commit naming another height.
    commit = s_commit_of (world, height, 0, hash, 4);
    commit->height = height + 1;
    s_expect_commit (world, block, &commit, CC_E_COMMIT_MISMATCH);
    //  Votes signed for another chain.
    commit = cc_commit_new (height, 0, hash);
    for (size_t index = 0; index < 4; index++) {
        Certchain__Signed vote;
        cc_vote_sign (members [index], "another-chain", CERTCHAIN__VOTE_TYPE__PRECOMMIT, height,
                      0, hash, &vote);
        cc_commit_add (commit, &vote);
        cc_signed_clear (&vote);
    }
    s_expect_commit (world, block, &commit, CC_E_COMMIT_BAD_SIG);
    //  A commit decided in a later round than the proposal is fine.
    commit = s_commit_of (world, height, 2, hash, 3);
    s_expect_commit (world, block, &commit, 0);
    //  No commit at all.
    s_expect (world, &block, true, CC_E_COMMIT_BELOW_QUORUM);
    ck_assert_int_eq (cc_commit_verify (NULL, FIXTURE_CHAIN, height, hash, valset, NULL, NULL,
                                        &reason), CC_E_COMMIT_BELOW_QUORUM);
    cc_valset_destroy (&valset);
    cc_keypair_destroy (&outsider);
    s_world_destroy (&world);
}
END_TEST

//  Replaces the last commit by the one in argument and fixes its hash.
static void
s_swap_last_commit (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    Certchain__Commit *replacement = (Certchain__Commit *) argument;
    cc_commit_destroy (&block->last_commit);
    if (replacement) {
        uint8_t *data = NULL;
        size_t size = 0;
        cc_codec_pack (&replacement->base, CC_BLOCK_MAX_SIZE, &data, &size);
        block->last_commit = (Certchain__Commit *) cc_codec_unpack (
            &certchain__commit__descriptor, data, size, CC_BLOCK_MAX_SIZE, NULL);
        free (data);
    }
    cc_commit_hash (block->last_commit, header->last_commit_hash.data);
}

//  Drops a precommit from the last commit without fixing the header.
static void
s_trim_last_commit (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    Certchain__Commit *commit = block->last_commit;
    certchain__signed__free_unpacked (commit->precommits [--commit->n_precommits], NULL);
}

START_TEST (test_last_commit_verdicts)
{
    s_world_t *world = s_world_new ("block-last", 4, 0, 0);
    //  Height 1 carries none.
    cc_block_t *block = s_build (world, NULL, 0, NULL, 0, NULL);
    cc_keypair_t *proposer = s_scheduled (world, 0);
    Certchain__Commit *stray = s_commit_of (world, 1, 0, world->tip_hash, 4);
    cc_block_t *bad = s_mutate (block, proposer, s_swap_last_commit, stray);
    s_expect (world, &bad, false, CC_E_BAD_LAST_COMMIT);
    cc_commit_destroy (&stray);
    cc_block_destroy (&block);
    s_advance (world, NULL, 0);

    block = s_build (world, NULL, 0, NULL, 0, NULL);
    proposer = s_scheduled (world, 0);
    //  Altered without fixing the header's hash.
    bad = s_mutate (block, proposer, s_trim_last_commit, NULL);
    s_expect (world, &bad, false, CC_E_BAD_LAST_COMMIT);
    //  Missing.
    bad = s_mutate (block, proposer, s_swap_last_commit, NULL);
    s_expect (world, &bad, false, CC_E_BAD_LAST_COMMIT);
    //  Hash fixed, but below quorum of V(1).
    Certchain__Commit *weak = s_commit_of (world, 1, 0, world->tip_hash, 2);
    bad = s_mutate (block, proposer, s_swap_last_commit, weak);
    s_expect (world, &bad, false, CC_E_BAD_LAST_COMMIT);
    cc_commit_destroy (&weak);
    //  Hash fixed, a quorum, but for another block than the parent.
    uint8_t other [CC_HASH_SIZE];
    cc_hash ("another block", 13, other);
    Certchain__Commit *elsewhere = s_commit_of (world, 1, 0, other, 4);
    bad = s_mutate (block, proposer, s_swap_last_commit, elsewhere);
    s_expect (world, &bad, false, CC_E_BAD_LAST_COMMIT);
    cc_commit_destroy (&elsewhere);
    s_expect (world, &block, false, 0);
    //  Another valid quorum (3 of 4) for the parent is fine: nodes may hold
    //  different commits for one block.
    Certchain__Commit *saved = world->last_commit;
    world->last_commit = s_commit_of (world, 1, 0, world->tip_hash, 3);
    block = s_build (world, NULL, 0, NULL, 0, NULL);
    ck_assert_uint_eq (cc_block_last_commit (block)->n_precommits, 3);
    s_expect (world, &block, false, 0);
    cc_commit_destroy (&world->last_commit);
    world->last_commit = saved;
    s_world_destroy (&world);
}
END_TEST

//  --- Verdicts: transactions ------------------------------------------------------------

//  Changes one byte of tx 1's body (the amount), keeping everything else.
static void
s_tamper_tx (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    Certchain__TxBody *body = (Certchain__TxBody *) cc_codec_unpack (
        &certchain__tx_body__descriptor, block->txs [1]->body.data, block->txs [1]->body.len,
        CC_TX_MAX_SIZE, NULL);
    body->transfer->amount += 1;
    free (block->txs [1]->body.data);
    cc_codec_pack (&body->base, CC_TX_MAX_SIZE, &block->txs [1]->body.data,
                   &block->txs [1]->body.len);
    certchain__tx_body__free_unpacked (body, NULL);
}

static void
s_remove_tx (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    certchain__signed__free_unpacked (block->txs [--block->n_txs], NULL);
    header->tx_count = (uint32_t) block->n_txs;
}

static void
s_swap_txs (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    Certchain__Signed *first = block->txs [0];
    block->txs [0] = block->txs [1];
    block->txs [1] = first;
}

static void
s_add_tx (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    s_append_tx (block, (cc_tx_t *) argument);
    header->tx_count = (uint32_t) block->n_txs;
}

static void
s_add_tx_fixed (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    s_append_tx (block, (cc_tx_t *) argument);
    s_fix_root (block, header);
}

static void
s_flip_tx_signature (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    size_t index = *(size_t *) argument;
    block->txs [index]->signature.data [10] ^= 1;
}

START_TEST (test_tx_verdicts)
{
    s_world_t *world = s_world_new ("block-tx", 4, 0, 0);
    s_advance (world, NULL, 0);
    cc_tx_t *txs [3] = {s_transfer (0, 1, 10, 1), s_transfer (1, 2, 10, 1),
                        s_transfer (2, 3, 10, 1)};
    cc_keypair_t *proposer = s_scheduled (world, 0);
    cc_block_t *block = s_build (world, proposer, 0, txs, 3, NULL);
    Certchain__Commit *commit = s_full_commit (world, block);
    cc_block_set_commit (block, commit);
    cc_commit_destroy (&commit);
    //  Tampered, removed, reordered, added: the root no longer matches,
    //  even under the proposer's own fresh signature.
    cc_block_t *bad = s_mutate (block, NULL, s_tamper_tx, NULL);
    s_expect (world, &bad, true, CC_E_TX_ROOT_MISMATCH);
    bad = s_mutate (block, proposer, s_tamper_tx, NULL);
    s_expect (world, &bad, false, CC_E_TX_ROOT_MISMATCH);
    bad = s_mutate (block, proposer, s_remove_tx, NULL);
    s_expect (world, &bad, false, CC_E_TX_ROOT_MISMATCH);
    bad = s_mutate (block, proposer, s_swap_txs, NULL);
    s_expect (world, &bad, false, CC_E_TX_ROOT_MISMATCH);
    cc_tx_t *extra = s_transfer (3, 0, 10, 1);
    bad = s_mutate (block, proposer, s_add_tx, extra);
    s_expect (world, &bad, false, CC_E_TX_ROOT_MISMATCH);
    //  A tx with a nonce gap, the header otherwise consistent and re-signed:
    //  the block does not apply and the verdict names the tx.
    cc_tx_t *gap = s_transfer (4, 0, 10, 2);
    bad = s_mutate (block, proposer, s_add_tx_fixed, gap);
    cc_reason_t reason;
    ck_assert_int_eq (s_verify (world, bad, false, NULL, &reason), CC_E_BAD_TX);
    ck_assert_ptr_nonnull (strstr (reason.text, "tx 3"));
    ck_assert_ptr_nonnull (strstr (reason.text, "NONCE_GAP"));
    s_expect (world, &bad, false, CC_E_BAD_TX);
    //  A replay of tx 0 inside the same block.
    bad = s_mutate (block, proposer, s_add_tx_fixed, txs [0]);
    ck_assert_int_eq (s_verify (world, bad, false, NULL, &reason), CC_E_BAD_TX);
    ck_assert_ptr_nonnull (strstr (reason.text, "NONCE_REPLAY"));
    s_expect (world, &bad, false, CC_E_BAD_TX);
    //  A tx signature altered: the root (over bodies) holds, the signature
    //  does not.
    size_t index = 1;
    bad = s_mutate (block, NULL, s_flip_tx_signature, &index);
    ck_assert_mem_eq (cc_block_hash (bad), cc_block_hash (block), CC_HASH_SIZE);
    ck_assert_int_eq (s_verify (world, bad, true, NULL, &reason), CC_E_BAD_TX);
    ck_assert_ptr_nonnull (strstr (reason.text, "BAD_SIGNATURE"));
    //  Trusting signatures takes effect only under a required quorum
    //  commit: then the commit vouches for them (the relay, a CA's view).
    //  (Fresh copies: a transaction remembers how it was first opened.)
    cc_block_parent_t parent = {world->tip_hash, world->tip_time};
    cc_block_verify_opts_t trusting = {.require_commit = false, .trust_signatures = true};
    cc_block_t *copy = s_mutate (block, NULL, s_flip_tx_signature, &index);
    ck_assert_int_eq (cc_block_verify (copy, world->state, &parent, &trusting, NULL, &reason),
                      CC_E_BAD_TX);
    cc_block_destroy (&copy);
    trusting.require_commit = true;
    copy = s_mutate (block, NULL, s_flip_tx_signature, &index);
    ck_assert_int_eq (cc_block_verify (copy, world->state, &parent, &trusting, NULL, &reason), 0);
    cc_block_destroy (&copy);
    s_expect (world, &bad, true, CC_E_BAD_TX);
    s_expect (world, &block, true, 0);
    cc_tx_destroy (&extra);
    cc_tx_destroy (&gap);
    s_txs_destroy (txs, 3);
    s_world_destroy (&world);
}
END_TEST

//  --- Parallel signature checks -----------------------------------------------------------

typedef struct {
    cc_tx_t **txs;          //  the txs the "mempool" verified
    size_t count;           //  how many
    size_t calls;           //  lookups made
} s_cache_t;

static bool
s_cache_lookup (void *argument, const uint8_t *tx_hash, const uint8_t *signature)
{
    s_cache_t *cache = (s_cache_t *) argument;
    cache->calls++;
    for (size_t index = 0; index < cache->count; index++)
        if (memcmp (cc_tx_hash (cache->txs [index]), tx_hash, CC_HASH_SIZE) == 0
            && memcmp (cc_tx_envelope (cache->txs [index])->signature.data, signature,
                       CC_SIGNATURE_SIZE) == 0)
            return true;
    return false;
}

static bool
s_cache_blind (void *argument, const uint8_t *tx_hash, const uint8_t *signature)
{
    return true;
}

//  Verifies a fresh decoding of data with opts; returns the verdict.
static int
s_verify_bytes (s_world_t *world, const uint8_t *data, size_t size,
                const cc_block_verify_opts_t *opts, cc_reason_t *reason)
{
    cc_block_t *block = cc_block_decode (data, size, NULL);
    ck_assert_ptr_nonnull (block);
    cc_block_parent_t parent = {world->tip_hash, world->tip_time};
    int rc = cc_block_verify (block, world->state, &parent, opts, NULL, reason);
    cc_block_destroy (&block);
    return rc;
}

START_TEST (test_parallel_signatures)
{
    s_world_t *world = s_world_new ("block-par", 1, 0, 0);
    enum { COUNT = 48 };
    cc_tx_t *txs [COUNT];
    for (size_t index = 0; index < COUNT; index++)
        txs [index] = s_transfer (index % S_ACCOUNTS, (index + 1) % S_ACCOUNTS, 1,
                                  index / S_ACCOUNTS + 1);
    cc_block_t *block = s_build (world, NULL, 0, txs, COUNT, NULL);
    ck_assert_uint_eq (cc_block_tx_count (block), COUNT);
    Certchain__Commit *commit = s_full_commit (world, block);
    cc_block_set_commit (block, commit);
    cc_commit_destroy (&commit);
    //  The valid block, and one with a bad signature at tx 29 (and 40).
    uint8_t *good = NULL, *bad = NULL;
    size_t good_size = 0, bad_size = 0;
    cc_block_encode (block, true, &good, &good_size);
    size_t index = 29;
    cc_block_t *tampered = s_mutate (block, NULL, s_flip_tx_signature, &index);
    index = 40;
    cc_block_t *twice = s_mutate (tampered, NULL, s_flip_tx_signature, &index);
    cc_block_encode (twice, true, &bad, &bad_size);
    cc_block_destroy (&tampered);
    cc_block_destroy (&twice);

    cc_reason_t inline_reason, parallel_reason;
    cc_block_verify_opts_t inline_opts = {.require_commit = true, .threads = 1};
    cc_block_verify_opts_t parallel_opts = {.require_commit = true, .threads = 4};
    ck_assert_int_eq (s_verify_bytes (world, good, good_size, &inline_opts, &inline_reason), 0);
    ck_assert_int_eq (s_verify_bytes (world, good, good_size, &parallel_opts,
                                      &parallel_reason), 0);
    ck_assert_int_eq (s_verify_bytes (world, bad, bad_size, &inline_opts, &inline_reason),
                      CC_E_BAD_TX);
    ck_assert_int_eq (s_verify_bytes (world, bad, bad_size, &parallel_opts, &parallel_reason),
                      CC_E_BAD_TX);
    ck_assert_str_eq (inline_reason.text, parallel_reason.text);
    ck_assert_ptr_nonnull (strstr (parallel_reason.text, "tx 29"));
    //  More threads than worth it still agree.
    parallel_opts.threads = 64;
    ck_assert_int_eq (s_verify_bytes (world, bad, bad_size, &parallel_opts, &parallel_reason),
                      CC_E_BAD_TX);
    ck_assert_str_eq (inline_reason.text, parallel_reason.text);

    //  A cache of what the mempool verified: consulted per tx, and a
    //  swapped signature is not in it, so it is still caught.
    s_cache_t cache = {txs, COUNT, 0};
    parallel_opts.threads = 4;
    parallel_opts.signature_checked = s_cache_lookup;
    parallel_opts.signature_argument = &cache;
    ck_assert_int_eq (s_verify_bytes (world, good, good_size, &parallel_opts,
                                      &parallel_reason), 0);
    ck_assert_uint_eq (cache.calls, COUNT);
    ck_assert_int_eq (s_verify_bytes (world, bad, bad_size, &parallel_opts, &parallel_reason),
                      CC_E_BAD_TX);
    ck_assert_str_eq (inline_reason.text, parallel_reason.text);
    //  The cache is trusted: a blind one skips the signature checks.
    parallel_opts.signature_checked = s_cache_blind;
    ck_assert_int_eq (s_verify_bytes (world, bad, bad_size, &parallel_opts, &parallel_reason),
                      0);
    free (good);
    free (bad);
    cc_block_destroy (&block);
    s_txs_destroy (txs, COUNT);
    s_world_destroy (&world);
}
END_TEST

//  --- Decoding hostile bytes --------------------------------------------------------------

static uint64_t
s_random (uint64_t *seed)
{
    //  xorshift64*: deterministic, so a failure reproduces.
    *seed ^= *seed >> 12;
    *seed ^= *seed << 25;
    *seed ^= *seed >> 27;
    return *seed * 2685821657736338717ull;
}

static void
s_expect_decode_refusal (const uint8_t *data, size_t size)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    cc_block_t *block = cc_block_decode (data, size, &reason);
    if (block) {
        //  Some mutations still parse: the result must be usable.
        uint8_t *again = NULL;
        size_t again_size = 0;
        ck_assert_int_eq (cc_block_encode (block, true, &again, &again_size), 0);
        free (again);
        cc_block_destroy (&block);
    }
    else
        ck_assert_msg (reason.code == CC_E_MALFORMED || reason.code == CC_E_OVERSIZE
                           || reason.code == CC_E_BAD_FIELD,
                       "unexpected %s: %s", cc_error_name (reason.code), reason.text);
}

START_TEST (test_decode_hostile)
{
    s_world_t *world = s_world_new ("block-fuzz", 1, 0, 0);
    s_advance (world, NULL, 0);
    cc_tx_t *txs [3] = {s_transfer (0, 1, 10, 1), s_transfer (1, 2, 10, 1),
                        s_transfer (2, 3, 10, 1)};
    cc_block_t *block = s_build (world, NULL, 0, txs, 3, NULL);
    Certchain__Commit *commit = s_full_commit (world, block);
    cc_block_set_commit (block, commit);
    cc_commit_destroy (&commit);
    uint8_t *data = NULL;
    size_t size = 0;
    cc_block_encode (block, true, &data, &size);
    cc_reason_t reason;

    //  Nothing, and every truncation.
    ck_assert_ptr_null (cc_block_decode (NULL, 0, &reason));
    ck_assert_int_eq (reason.code, CC_E_BAD_FIELD);
    for (size_t length = 0; length < size; length++)
        s_expect_decode_refusal (data, length);
    //  Random mutations: flipped bytes, runs of garbage, cut and repeated.
    uint64_t seed = 0x5eed;
    uint8_t *copy = (uint8_t *) malloc (size * 2);
    for (int round = 0; round < 3000; round++) {
        memcpy (copy, data, size);
        size_t length = size;
        int changes = 1 + (int) (s_random (&seed) % 4);
        for (int change = 0; change < changes; change++) {
            size_t at = s_random (&seed) % length;
            switch (s_random (&seed) % 4) {
                case 0:
                    copy [at] ^= (uint8_t) (1u << (s_random (&seed) % 8));
                    break;
                case 1:
                    copy [at] = (uint8_t) s_random (&seed);
                    break;
                case 2:
                    length = at + 1;
                    break;
                default:
                    if (length + 16 <= size * 2) {
                        memmove (copy + at + 16, copy + at, length - at);
                        for (size_t index = 0; index < 16; index++)
                            copy [at + index] = (uint8_t) s_random (&seed);
                        length += 16;
                    }
            }
        }
        s_expect_decode_refusal (copy, length);
    }
    //  Pure garbage.
    for (int round = 0; round < 500; round++) {
        size_t length = s_random (&seed) % 512;
        for (size_t index = 0; index < length; index++)
            copy [index] = (uint8_t) s_random (&seed);
        s_expect_decode_refusal (copy, length);
    }
    free (copy);
    //  Padding meant to amplify memory: a million empty tx entries, unknown
    //  fields, or empty precommits inside a commit, are refused before
    //  protobuf-c allocates a structure for each.
    size_t padding = 2000000;
    uint8_t *padded = (uint8_t *) malloc (padding + 8);
    for (size_t index = 0; index < padding; index += 2) {
        padded [index] = 0x1a;          //  field 3 (txs), length-delimited
        padded [index + 1] = 0;
    }
    ck_assert_ptr_null (cc_block_decode (padded, padding, &reason));
    ck_assert_int_eq (reason.code, CC_E_OVERSIZE);
    for (size_t index = 0; index < padding; index += 2)
        padded [index] = 0x78;          //  field 15 (unknown), varint
    ck_assert_ptr_null (cc_block_decode (padded, padding, &reason));
    ck_assert_int_eq (reason.code, CC_E_OVERSIZE);
    size_t inner = padding - 4;
    padded [0] = 0x2a;                  //  field 5 (commit), length-delimited
    padded [1] = (uint8_t) (0x80 | (inner & 0x7f));
    padded [2] = (uint8_t) (0x80 | ((inner >> 7) & 0x7f));
    padded [3] = (uint8_t) (inner >> 14);
    for (size_t index = 4; index < padding; index += 2) {
        padded [index] = 0x22;          //  field 4 (precommits), length-delimited
        padded [index + 1] = 0;
    }
    ck_assert_ptr_null (cc_block_decode (padded, padding, &reason));
    ck_assert_int_eq (reason.code, CC_E_OVERSIZE);
    free (padded);
    //  Too large, before a byte is parsed.
    uint8_t *huge = (uint8_t *) calloc (1, CC_BLOCK_MAX_SIZE + 1);
    ck_assert_ptr_null (cc_block_decode (huge, CC_BLOCK_MAX_SIZE + 1, &reason));
    ck_assert_int_eq (reason.code, CC_E_OVERSIZE);
    free (huge);
    free (data);
    cc_block_destroy (&block);
    s_txs_destroy (txs, 3);
    s_world_destroy (&world);
}
END_TEST

//  Field checks of decoding, one per field.
static void
s_short_proposer (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    header->proposer.len = 31;
}

static void
s_short_tx_root (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    header->tx_root.len = 0;
}

static void
s_wrong_tx_count (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    header->tx_count += 1;
}

static void
s_short_block_signature (Certchain__Block *block, Certchain__BlockHeader *header,
                         void *argument)
{
    block->proposer_signature.len = 63;
}

static void
s_short_tx_signer (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    block->txs [0]->signer.len = 16;
}

static void
s_short_commit_hash (Certchain__Block *block, Certchain__BlockHeader *header, void *argument)
{
    block->commit->block_hash.len = 8;
}

START_TEST (test_decode_fields)
{
    s_world_t *world = s_world_new ("block-fields", 1, 0, 0);
    cc_tx_t *txs [1] = {s_transfer (0, 1, 10, 1)};
    cc_block_t *block = s_build (world, NULL, 0, txs, 1, NULL);
    Certchain__Commit *commit = s_full_commit (world, block);
    cc_block_set_commit (block, commit);
    cc_commit_destroy (&commit);
    s_mutate_fn *mutations [] = {s_short_proposer, s_short_tx_root, s_wrong_tx_count,
                                 s_short_block_signature, s_short_tx_signer,
                                 s_short_commit_hash};
    for (size_t index = 0; index < sizeof (mutations) / sizeof (mutations [0]); index++) {
        uint8_t *data = NULL;
        size_t size = 0;
        cc_block_encode (block, true, &data, &size);
        Certchain__Block *message = (Certchain__Block *) cc_codec_unpack (
            &certchain__block__descriptor, data, size, CC_BLOCK_MAX_SIZE, NULL);
        free (data);
        Certchain__BlockHeader *header = (Certchain__BlockHeader *) cc_codec_unpack (
            &certchain__block_header__descriptor, message->header.data, message->header.len,
            CC_BLOCK_HEADER_MAX_SIZE, NULL);
        //  Shortened lengths only: the buffers stay owned and freed whole.
        mutations [index] (message, header, NULL);
        uint8_t *header_data = NULL;
        size_t header_size = 0;
        cc_codec_pack (&header->base, CC_BLOCK_HEADER_MAX_SIZE, &header_data, &header_size);
        uint8_t *saved = message->header.data;
        size_t saved_size = message->header.len;
        message->header = cc_bytes_view (header_data, header_size);
        cc_codec_pack (&message->base, CC_BLOCK_MAX_SIZE, &data, &size);
        message->header = cc_bytes_view (saved, saved_size);
        free (header_data);
        certchain__block_header__free_unpacked (header, NULL);
        certchain__block__free_unpacked (message, NULL);
        cc_reason_t reason;
        ck_assert_ptr_null (cc_block_decode (data, size, &reason));
        ck_assert_msg (reason.code == CC_E_BAD_FIELD, "mutation %zu: %s", index,
                       cc_error_name (reason.code));
        free (data);
    }
    cc_block_destroy (&block);
    s_txs_destroy (txs, 1);
    s_world_destroy (&world);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("block");
    TCase *tcase = tcase_create ("build and verify");
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_heights_one_validator);
    tcase_add_test (tcase, test_heights_four_validators);
    tcase_add_test (tcase, test_encode_decode_roundtrip);
    tcase_add_test (tcase, test_build_limits_and_rejects);
    suite_add_tcase (suite, tcase);
    tcase = tcase_create ("verdicts");
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_unauthorized_proposer);
    tcase_add_test (tcase, test_revoked_proposer);
    tcase_add_test (tcase, test_not_scheduled);
    tcase_add_test (tcase, test_bad_proposer_signature);
    tcase_add_test (tcase, test_header_verdicts);
    tcase_add_test (tcase, test_block_limits);
    tcase_add_test (tcase, test_commit_verdicts);
    tcase_add_test (tcase, test_last_commit_verdicts);
    tcase_add_test (tcase, test_tx_verdicts);
    tcase_add_test (tcase, test_parallel_signatures);
    suite_add_tcase (suite, tcase);
    tcase = tcase_create ("decoding");
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_decode_hostile);
    tcase_add_test (tcase, test_decode_fields);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
