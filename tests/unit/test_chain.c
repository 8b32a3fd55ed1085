/*  =========================================================================
    test_chain - committing blocks to a process's store: heights, syncing
    a second chain from the first, refusals that leave the chain unchanged,
    lookups, reopening, and atomicity when the process dies mid-commit

    A proposer chain builds each block with cc_block_build, seals it with a
    commit of every member of V(h) and commits it with the exec the build
    returned; a verifier chain receives the stored bytes and commits them
    through full verification, as a syncing node does.
    =========================================================================
*/

#include "fixture.h"

#include "chain.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_ACCOUNTS 6
#define S_BALANCE 1000000
#define S_ROGUE 10000u

//  --- Helpers -----------------------------------------------------------------------

typedef struct {
    char *dir;                  //  store directory (owned, kept on close)
    cc_genesis_t *genesis;      //  the chain's genesis (outlives the chain)
    cc_chain_t *chain;          //  open chain, or NULL while closed
    cc_keypair_t *keys [4];     //  keys of the genesis members
    size_t key_count;           //  keys in use
} s_node_t;

static cc_genesis_t *
s_genesis (size_t validators)
{
    cc_genesis_t *genesis = fixture_genesis (1, validators - 1, S_ACCOUNTS, S_BALANCE);
    ck_assert_ptr_nonnull (genesis);
    return genesis;
}

static void
s_node_open (s_node_t *self)
{
    cc_reason_t reason;
    self->chain = cc_chain_open (self->dir, self->genesis, 0, &reason);
    ck_assert_msg (self->chain != NULL, "open: %s", reason.text);
}

static s_node_t *
s_node_new (const char *name, size_t validators)
{
    s_node_t *self = (s_node_t *) calloc (1, sizeof (s_node_t));
    self->dir = fixture_tempdir (name);
    self->genesis = s_genesis (validators);
    self->keys [self->key_count++] = fixture_keypair (FIXTURE_CA (0));
    for (size_t index = 0; index + 1 < validators; index++)
        self->keys [self->key_count++] = fixture_keypair (FIXTURE_VALIDATOR (index));
    s_node_open (self);
    return self;
}

static void
s_node_destroy (s_node_t **self_p)
{
    s_node_t *self = *self_p;
    cc_chain_destroy (&self->chain);
    cc_genesis_destroy (&self->genesis);
    for (size_t index = 0; index < self->key_count; index++)
        cc_keypair_destroy (&self->keys [index]);
    fixture_rmtree (self->dir);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

static cc_keypair_t *
s_key_of (s_node_t *self, const uint8_t *pubkey)
{
    for (size_t index = 0; index < self->key_count; index++)
        if (memcmp (cc_keypair_public (self->keys [index]), pubkey, CC_PUBKEY_SIZE) == 0)
            return self->keys [index];
    return NULL;
}

//  A commit of the first count members of V(height of block).
static Certchain__Commit *
s_commit_of (s_node_t *self, cc_block_t *block, size_t count)
{
    uint64_t height = cc_block_height (block);
    cc_valset_t *valset = cc_state_valset (cc_chain_state (self->chain), height);
    if (count > cc_valset_size (valset))
        count = cc_valset_size (valset);
    Certchain__Commit *commit = cc_commit_new (height, cc_block_round (block),
                                               cc_block_hash (block));
    for (size_t index = 0; index < count; index++) {
        cc_keypair_t *key = s_key_of (self, cc_valset_member (valset, index));
        ck_assert_ptr_nonnull (key);
        Certchain__Signed vote;
        ck_assert_int_eq (cc_vote_sign (key, FIXTURE_CHAIN, CERTCHAIN__VOTE_TYPE__PRECOMMIT,
                                        height, cc_block_round (block), cc_block_hash (block),
                                        &vote), 0);
        ck_assert_int_eq (cc_commit_add (commit, &vote), 0);
        cc_signed_clear (&vote);
    }
    cc_valset_destroy (&valset);
    return commit;
}

//  The committed block at height, decoded (caller destroys).
static cc_block_t *
s_stored (cc_chain_t *chain, uint64_t height)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_chain_block (chain, height, &data, &size), 0);
    cc_block_t *block = cc_block_decode (data, size, NULL);
    free (data);
    ck_assert_ptr_nonnull (block);
    return block;
}

//  Builds the next block of txs by key (NULL = the scheduled proposer),
//  unsealed; *exec_p gets its exec.
static cc_block_t *
s_build (s_node_t *self, cc_keypair_t *key, cc_tx_t **txs, size_t count, cc_exec_t **exec_p)
{
    cc_chain_t *chain = self->chain;
    uint64_t height = cc_chain_height (chain) + 1;
    if (!key) {
        cc_valset_t *valset = cc_state_valset (cc_chain_state (chain), height);
        key = s_key_of (self, cc_valset_proposer (valset, height, 0));
        cc_valset_destroy (&valset);
    }
    cc_block_t *parent = height > 1 ? s_stored (chain, height - 1) : NULL;
    cc_block_build_args_t args = {
        .state = cc_chain_state (chain),
        .proposer = key,
        .height = height,
        .time_ms = cc_chain_tip_time (chain) + 1000,
        .parent_hash = cc_chain_tip_hash (chain),
        .last_commit = parent ? cc_block_commit (parent) : NULL,
        .candidates = txs,
        .count = count,
    };
    cc_reason_t reason;
    cc_block_t *block = cc_block_build (&args, exec_p, &reason);
    ck_assert_msg (block != NULL, "build: %s", reason.text);
    cc_block_destroy (&parent);
    return block;
}

static void
s_seal (s_node_t *self, cc_block_t *block, size_t signers)
{
    Certchain__Commit *commit = s_commit_of (self, block, signers);
    ck_assert_int_eq (cc_block_set_commit (block, commit), 0);
    cc_commit_destroy (&commit);
}

//  Builds, seals (every member) and commits the next block with its exec.
static void
s_advance (s_node_t *self, cc_tx_t **txs, size_t count)
{
    cc_exec_t *exec = NULL;
    cc_block_t *block = s_build (self, NULL, txs, count, &exec);
    ck_assert_uint_eq (cc_block_tx_count (block), count);
    s_seal (self, block, 4);
    cc_reason_t reason;
    int rc = cc_chain_commit (self->chain, block, &exec, &reason);
    ck_assert_msg (rc == 0, "commit: %s", reason.text);
    ck_assert_ptr_null (exec);
    cc_block_destroy (&block);
}

static cc_keypair_t *
s_account (size_t index)
{
    return fixture_keypair (FIXTURE_ACCOUNT (index));
}

//  A transfer between accounts with the sender's next nonce in chain.
static cc_tx_t *
s_transfer (cc_chain_t *chain, size_t from, size_t to, uint64_t amount, uint64_t extra)
{
    cc_keypair_t *sender = s_account (from);
    cc_keypair_t *recipient = s_account (to);
    uint64_t balance = 0, nonce = 0;
    cc_state_account (cc_chain_state (chain), cc_keypair_public (sender), &balance, &nonce);
    cc_tx_t *tx = fixture_transfer (sender, cc_keypair_public (recipient), amount, 1,
                                    nonce + 1 + extra);
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
s_balance_of (cc_chain_t *chain, const uint8_t *address)
{
    uint64_t balance = 0, nonce = 0;
    cc_state_account (cc_chain_state (chain), address, &balance, &nonce);
    return balance;
}

//  Money is conserved: accounts plus the fees paid to the genesis members.
static uint64_t
s_supply (s_node_t *self)
{
    uint64_t total = 0;
    for (size_t index = 0; index < S_ACCOUNTS; index++) {
        cc_keypair_t *key = s_account (index);
        total += s_balance_of (self->chain, cc_keypair_public (key));
        cc_keypair_destroy (&key);
    }
    for (size_t index = 0; index < self->key_count; index++)
        total += s_balance_of (self->chain, cc_keypair_public (self->keys [index]));
    return total;
}

//  --- What must hold after any crash or refusal --------------------------------------

//  Every block 1..tip is stored whole and indexed, the tip and the state
//  match the tip block, and nothing lies beyond the tip.
static void
s_assert_consistent (s_node_t *self)
{
    cc_chain_t *chain = self->chain;
    uint64_t height = cc_chain_height (chain);
    ck_assert_uint_eq (cc_state_height (cc_chain_state (chain)), height);
    uint8_t parent [CC_HASH_SIZE];
    memcpy (parent, cc_genesis_hash (self->genesis), CC_HASH_SIZE);
    for (uint64_t at = 1; at <= height; at++) {
        cc_block_t *block = s_stored (chain, at);
        ck_assert_uint_eq (cc_block_height (block), at);
        ck_assert_mem_eq (cc_block_parent_hash (block), parent, CC_HASH_SIZE);
        ck_assert_ptr_nonnull (cc_block_commit (block));
        memcpy (parent, cc_block_hash (block), CC_HASH_SIZE);
        uint64_t found = 0;
        uint8_t *data = NULL;
        size_t size = 0;
        ck_assert_int_eq (cc_chain_block_by_hash (chain, cc_block_hash (block), &found, &data,
                                                  &size), 0);
        free (data);
        ck_assert_uint_eq (found, at);
        for (size_t index = 0; index < cc_block_tx_count (block); index++) {
            uint64_t tx_height = 0;
            uint32_t tx_index = 0;
            ck_assert_int_eq (cc_chain_tx (chain, cc_tx_hash (cc_block_tx (block, index)),
                                           &tx_height, &tx_index), 0);
            ck_assert_uint_eq (tx_height, at);
            ck_assert_uint_eq (tx_index, index);
        }
        if (at == height) {
            ck_assert_mem_eq (cc_chain_tip_hash (chain), cc_block_hash (block), CC_HASH_SIZE);
            ck_assert_uint_eq (cc_chain_tip_time (chain), cc_block_time (block));
            ck_assert_mem_eq (cc_state_app_hash (cc_chain_state (chain)),
                              cc_block_app_hash (block), CC_HASH_SIZE);
        }
        cc_block_destroy (&block);
    }
    if (height == 0)
        ck_assert_mem_eq (cc_chain_tip_hash (chain), cc_genesis_hash (self->genesis),
                          CC_HASH_SIZE);
    //  No trace of a block past the tip in the store itself.
    cc_store_t *store = cc_chain_store (chain);
    uint8_t key [8];
    for (int index = 0; index < 8; index++)
        key [index] = (uint8_t) ((height + 1) >> (8 * (7 - index)));
    uint8_t *value = NULL;
    size_t value_size = 0;
    ck_assert_int_eq (cc_store_get (store, cc_store_family (store, "blocks"), key, sizeof (key),
                                    &value, &value_size), CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_chain_block (chain, height + 1, &value, &value_size), CC_E_NOT_FOUND);
    ck_assert_uint_eq (s_supply (self), (uint64_t) S_ACCOUNTS * S_BALANCE);
}

typedef struct {
    uint64_t height;                    //  chain height
    uint8_t tip [CC_HASH_SIZE];         //  tip hash
    uint8_t app_hash [CC_HASH_SIZE];    //  state app hash
    uint64_t balances [S_ACCOUNTS];     //  account balances
} s_snapshot_t;

static void
s_snapshot (s_node_t *self, s_snapshot_t *snapshot)
{
    snapshot->height = cc_chain_height (self->chain);
    memcpy (snapshot->tip, cc_chain_tip_hash (self->chain), CC_HASH_SIZE);
    memcpy (snapshot->app_hash, cc_state_app_hash (cc_chain_state (self->chain)), CC_HASH_SIZE);
    for (size_t index = 0; index < S_ACCOUNTS; index++) {
        cc_keypair_t *key = s_account (index);
        snapshot->balances [index] = s_balance_of (self->chain, cc_keypair_public (key));
        cc_keypair_destroy (&key);
    }
}

//  Commits block (borrowed) with exec (taken, may be NULL) expecting code,
//  and checks the chain did not move.
static void
s_expect_refused (s_node_t *self, cc_block_t *block, cc_exec_t **exec_p, int code)
{
    s_snapshot_t before, after;
    s_snapshot (self, &before);
    cc_reason_t reason;
    int rc = cc_chain_commit (self->chain, block, exec_p, &reason);
    ck_assert_msg (rc == code, "expected %s, got %s: %s", cc_error_name (code),
                   cc_error_name (rc), reason.text);
    ck_assert_int_eq (reason.code, code);
    if (exec_p)
        ck_assert_ptr_null (*exec_p);
    s_snapshot (self, &after);
    ck_assert_mem_eq (&after, &before, sizeof (before));
    //  Not stored, not indexed, and the same after a reopen.
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_chain_block_by_hash (self->chain, cc_block_hash (block), NULL, &data,
                                              &size), CC_E_NOT_FOUND);
    for (size_t index = 0; index < cc_block_tx_count (block); index++)
        ck_assert_int_eq (cc_chain_tx (self->chain, cc_tx_hash (cc_block_tx (block, index)),
                                       NULL, NULL), CC_E_NOT_FOUND);
    cc_chain_destroy (&self->chain);
    s_node_open (self);
    s_snapshot (self, &after);
    ck_assert_mem_eq (&after, &before, sizeof (before));
    s_assert_consistent (self);
}

//  --- Committing heights ------------------------------------------------------------------

//  A proposer chain commits heights of transfers; a verifier chain syncs
//  each stored block through full verification; both agree throughout.
static void
s_run_sync (size_t validators, size_t heights)
{
    s_node_t *proposer = s_node_new ("chain-p", validators);
    s_node_t *verifier = s_node_new ("chain-v", validators);
    ck_assert_uint_eq (cc_chain_height (proposer->chain), 0);
    ck_assert_mem_eq (cc_chain_tip_hash (proposer->chain), cc_genesis_hash (proposer->genesis),
                      CC_HASH_SIZE);
    ck_assert_uint_eq (cc_chain_tip_time (proposer->chain), FIXTURE_GENESIS_TIME_MS);
    ck_assert_ptr_eq (cc_chain_genesis (proposer->chain), proposer->genesis);
    for (size_t step = 1; step <= heights; step++) {
        cc_tx_t *txs [3] = {s_transfer (proposer->chain, 0, 1, 7, 0),
                            s_transfer (proposer->chain, 1, 2, 3, 0),
                            s_transfer (proposer->chain, 2, 0, 1, 0)};
        s_advance (proposer, txs, 3);
        ck_assert_uint_eq (cc_chain_height (proposer->chain), step);
        s_txs_destroy (txs, 3);

        //  The verifier gets the bytes, as from a relay.
        uint8_t *data = NULL;
        size_t size = 0;
        ck_assert_int_eq (cc_chain_block (proposer->chain, step, &data, &size), 0);
        cc_reason_t reason;
        cc_block_t *block = cc_block_decode (data, size, &reason);
        free (data);
        ck_assert_ptr_nonnull (block);
        int rc = cc_chain_commit (verifier->chain, block, NULL, &reason);
        ck_assert_msg (rc == 0, "height %zu: %s", step, reason.text);
        cc_block_destroy (&block);
        ck_assert_uint_eq (cc_chain_height (verifier->chain), step);
        ck_assert_mem_eq (cc_chain_tip_hash (verifier->chain),
                          cc_chain_tip_hash (proposer->chain), CC_HASH_SIZE);
        ck_assert_mem_eq (cc_state_app_hash (cc_chain_state (verifier->chain)),
                          cc_state_app_hash (cc_chain_state (proposer->chain)), CC_HASH_SIZE);
    }
    cc_keypair_t *account = s_account (1);
    ck_assert_uint_eq (s_balance_of (verifier->chain, cc_keypair_public (account)),
                       S_BALANCE + (7 - 3 - 1) * heights);
    cc_keypair_destroy (&account);
    s_assert_consistent (proposer);
    s_assert_consistent (verifier);

    //  Reopened, the verifier has the same tip and goes on.
    uint8_t tip [CC_HASH_SIZE];
    memcpy (tip, cc_chain_tip_hash (verifier->chain), CC_HASH_SIZE);
    cc_chain_destroy (&verifier->chain);
    s_node_open (verifier);
    ck_assert_uint_eq (cc_chain_height (verifier->chain), heights);
    ck_assert_mem_eq (cc_chain_tip_hash (verifier->chain), tip, CC_HASH_SIZE);
    cc_tx_t *txs [1] = {s_transfer (verifier->chain, 3, 4, 5, 0)};
    s_advance (verifier, txs, 1);
    s_txs_destroy (txs, 1);
    ck_assert_uint_eq (cc_chain_height (verifier->chain), heights + 1);
    s_assert_consistent (verifier);
    s_node_destroy (&proposer);
    s_node_destroy (&verifier);
}

START_TEST (test_sync_one_validator)
{
    s_run_sync (1, 4);
}
END_TEST

START_TEST (test_sync_four_validators)
{
    s_run_sync (4, 5);
}
END_TEST

START_TEST (test_lookups)
{
    s_node_t *node = s_node_new ("chain-lookup", 1);
    cc_tx_t *first [2] = {s_transfer (node->chain, 0, 1, 10, 0),
                          s_transfer (node->chain, 1, 0, 10, 0)};
    s_advance (node, first, 2);
    cc_tx_t *second [3] = {s_transfer (node->chain, 0, 1, 10, 0),
                           s_transfer (node->chain, 2, 1, 10, 0),
                           s_transfer (node->chain, 0, 1, 10, 1)};
    s_advance (node, second, 3);
    uint64_t height = 0;
    uint32_t index = 0;
    ck_assert_int_eq (cc_chain_tx (node->chain, cc_tx_hash (first [1]), &height, &index), 0);
    ck_assert_uint_eq (height, 1);
    ck_assert_uint_eq (index, 1);
    ck_assert_int_eq (cc_chain_tx (node->chain, cc_tx_hash (second [2]), &height, &index), 0);
    ck_assert_uint_eq (height, 2);
    ck_assert_uint_eq (index, 2);
    ck_assert_int_eq (cc_chain_tx (node->chain, cc_tx_hash (second [0]), &height, &index), 0);
    ck_assert_uint_eq (height, 2);
    ck_assert_uint_eq (index, 0);
    //  Unknown tx and block hashes, heights out of range.
    uint8_t unknown [CC_HASH_SIZE];
    cc_hash ("nothing", 7, unknown);
    ck_assert_int_eq (cc_chain_tx (node->chain, unknown, &height, &index), CC_E_NOT_FOUND);
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_chain_block_by_hash (node->chain, unknown, NULL, &data, &size),
                      CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_chain_block (node->chain, 0, &data, &size), CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_chain_block (node->chain, 3, &data, &size), CC_E_NOT_FOUND);
    //  By hash gives the same bytes as by height.
    uint8_t *by_height = NULL;
    size_t by_height_size = 0;
    ck_assert_int_eq (cc_chain_block (node->chain, 2, &by_height, &by_height_size), 0);
    ck_assert_int_eq (cc_chain_block_by_hash (node->chain, cc_chain_tip_hash (node->chain),
                                              &height, &data, &size), 0);
    ck_assert_uint_eq (height, 2);
    ck_assert_uint_eq (size, by_height_size);
    ck_assert_mem_eq (data, by_height, size);
    free (data);
    free (by_height);

    //  Every tx of block 2 comes with a proof that hashes to its tx root.
    for (size_t at = 0; at < 3; at++) {
        Certchain__TxInfo *info = NULL;
        cc_reason_t reason;
        ck_assert_int_eq (cc_chain_tx_info (node->chain, cc_tx_hash (second [at]), &info,
                                            &reason), 0);
        ck_assert_uint_eq (info->height, 2);
        ck_assert_uint_eq (info->index, at);
        ck_assert_mem_eq (info->block_hash.data, cc_chain_tip_hash (node->chain), CC_HASH_SIZE);
        ck_assert_mem_eq (info->tx->body.data, cc_tx_envelope (second [at])->body.data,
                          info->tx->body.len);
        uint8_t proof [CC_MERKLE_MAX_DEPTH * CC_HASH_SIZE];
        for (size_t step = 0; step < info->n_proof; step++)
            memcpy (proof + step * CC_HASH_SIZE, info->proof [step].data, CC_HASH_SIZE);
        ck_assert (cc_merkle_verify (cc_tx_hash (second [at]), 3, at, proof, info->n_proof,
                                     info->tx_root.data));
        //  The proof of one tx does not prove another.
        ck_assert (!cc_merkle_verify (cc_tx_hash (second [(at + 1) % 3]), 3, at, proof,
                                      info->n_proof, info->tx_root.data));
        cc_chain_tx_info_free (&info);
        ck_assert_ptr_null (info);
    }
    //  The status every service reports of its chain.
    Certchain__Status status;
    cc_keypair_t *outsider = fixture_keypair (99999);
    cc_chain_status (node->chain, "test", "node-1", cc_keypair_public (outsider), &status);
    ck_assert_str_eq (status.service, "test");
    ck_assert_str_eq (status.node, "node-1");
    ck_assert_str_eq (status.chain_id, FIXTURE_CHAIN);
    ck_assert_uint_eq (status.height, 2);
    ck_assert_mem_eq (status.tip_hash.data, cc_chain_tip_hash (node->chain), CC_HASH_SIZE);
    ck_assert_mem_eq (status.app_hash.data, cc_state_app_hash (cc_chain_state (node->chain)),
                      CC_HASH_SIZE);
    ck_assert_mem_eq (status.genesis_hash.data, cc_genesis_hash (cc_chain_genesis (node->chain)),
                      CC_HASH_SIZE);
    cc_valset_t *next = cc_state_valset (cc_chain_state (node->chain), 3);
    ck_assert_uint_eq (status.validators, cc_valset_size (next));
    ck_assert (!status.in_set);
    cc_chain_status (node->chain, "test", NULL, cc_valset_member (next, 0), &status);
    ck_assert (status.in_set);
    ck_assert_str_eq (status.node, "");
    cc_valset_destroy (&next);
    cc_keypair_destroy (&outsider);

    Certchain__TxInfo *none = NULL;
    cc_reason_t reason;
    ck_assert_int_eq (cc_chain_tx_info (node->chain, unknown, &none, &reason), CC_E_NOT_FOUND);
    ck_assert_ptr_null (none);

    //  Without the tx index (a validator's chain): blocks commit as ever,
    //  the index is neither written nor asked.
    cc_chain_set_tx_index (node->chain, false);
    cc_tx_t *third [1] = {s_transfer (node->chain, 2, 0, 10, 0)};
    s_advance (node, third, 1);
    ck_assert_uint_eq (cc_chain_height (node->chain), 3);
    ck_assert_int_eq (cc_chain_tx (node->chain, cc_tx_hash (third [0]), &height, &index),
                      CC_E_UNSUPPORTED);
    ck_assert_int_eq (cc_chain_tx (node->chain, cc_tx_hash (first [0]), &height, &index),
                      CC_E_UNSUPPORTED);
    ck_assert_int_eq (cc_chain_tx_info (node->chain, cc_tx_hash (first [0]), &none, &reason),
                      CC_E_UNSUPPORTED);
    cc_chain_set_tx_index (node->chain, true);
    ck_assert_int_eq (cc_chain_tx (node->chain, cc_tx_hash (third [0]), &height, &index),
                      CC_E_NOT_FOUND);
    ck_assert_int_eq (cc_chain_tx (node->chain, cc_tx_hash (first [0]), &height, &index), 0);
    ck_assert_uint_eq (height, 1);
    s_txs_destroy (third, 1);
    s_txs_destroy (first, 2);
    s_txs_destroy (second, 3);
    s_node_destroy (&node);
}
END_TEST

START_TEST (test_open_refusals)
{
    s_node_t *node = s_node_new ("chain-open", 1);
    s_advance (node, NULL, 0);
    //  The store is held by this process's open chain.
    cc_reason_t reason;
    ck_assert_ptr_null (cc_chain_open (node->dir, node->genesis, 0, &reason));
    ck_assert_int_eq (reason.code, CC_E_STORE);
    cc_chain_destroy (&node->chain);
    //  Another genesis is not this chain.
    cc_genesis_t *other = fixture_genesis (1, 0, S_ACCOUNTS + 1, S_BALANCE);
    ck_assert_ptr_null (cc_chain_open (node->dir, other, 0, &reason));
    ck_assert_int_eq (reason.code, CC_E_CONFIG);
    cc_genesis_destroy (&other);
    s_node_open (node);
    ck_assert_uint_eq (cc_chain_height (node->chain), 1);
    s_node_destroy (&node);
}
END_TEST

//  --- Refusals leave the chain as it was ---------------------------------------------------

static void
s_flip_signature (cc_block_t *block, size_t tx_index, uint8_t **data_p, size_t *size_p)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_block_encode (block, true, &data, &size), 0);
    Certchain__Block *message = (Certchain__Block *) cc_codec_unpack (
        &certchain__block__descriptor, data, size, CC_BLOCK_MAX_SIZE, NULL);
    free (data);
    message->txs [tx_index]->signature.data [0] ^= 1;
    ck_assert_int_eq (cc_codec_pack (&message->base, CC_BLOCK_MAX_SIZE, data_p, size_p), 0);
    certchain__block__free_unpacked (message, NULL);
}

START_TEST (test_refusals)
{
    s_node_t *node = s_node_new ("chain-refuse", 4);
    s_advance (node, NULL, 0);
    cc_tx_t *txs [2] = {s_transfer (node->chain, 0, 1, 10, 0),
                        s_transfer (node->chain, 1, 2, 10, 0)};
    s_advance (node, txs, 2);
    s_txs_destroy (txs, 2);
    txs [0] = s_transfer (node->chain, 0, 1, 10, 0);
    txs [1] = s_transfer (node->chain, 3, 2, 10, 0);

    //  A valid block without a commit, with or without its exec.
    cc_exec_t *exec = NULL;
    cc_block_t *block = s_build (node, NULL, txs, 2, &exec);
    s_expect_refused (node, block, &exec, CC_E_COMMIT_BELOW_QUORUM);
    s_expect_refused (node, block, NULL, CC_E_COMMIT_BELOW_QUORUM);
    //  Below quorum (2 of 4): through verification, and on the consensus
    //  path with the exec of the build.
    s_seal (node, block, 2);
    s_expect_refused (node, block, NULL, CC_E_COMMIT_BELOW_QUORUM);
    cc_block_destroy (&block);
    block = s_build (node, NULL, txs, 2, &exec);
    s_seal (node, block, 2);
    s_expect_refused (node, block, &exec, CC_E_COMMIT_BELOW_QUORUM);
    cc_block_destroy (&block);

    //  The rogue producer's block, sealed by rogue keys.
    cc_keypair_t *rogue = fixture_keypair (S_ROGUE);
    block = s_build (node, rogue, txs, 2, NULL);
    Certchain__Commit *commit = cc_commit_new (cc_block_height (block), 0,
                                               cc_block_hash (block));
    for (unsigned index = 0; index < 4; index++) {
        cc_keypair_t *key = fixture_keypair (S_ROGUE + index);
        Certchain__Signed vote;
        cc_vote_sign (key, FIXTURE_CHAIN, CERTCHAIN__VOTE_TYPE__PRECOMMIT,
                      cc_block_height (block), 0, cc_block_hash (block), &vote);
        cc_commit_add (commit, &vote);
        cc_signed_clear (&vote);
        cc_keypair_destroy (&key);
    }
    cc_block_set_commit (block, commit);
    cc_commit_destroy (&commit);
    s_expect_refused (node, block, NULL, CC_E_UNAUTHORIZED_PROPOSER);
    cc_block_destroy (&block);
    cc_keypair_destroy (&rogue);

    //  A tx signature swapped in transit.
    block = s_build (node, NULL, txs, 2, NULL);
    s_seal (node, block, 4);
    uint8_t *data = NULL;
    size_t size = 0;
    s_flip_signature (block, 1, &data, &size);
    cc_block_t *tampered = cc_block_decode (data, size, NULL);
    free (data);
    s_expect_refused (node, tampered, NULL, CC_E_BAD_TX);
    cc_block_destroy (&tampered);

    //  The genuine block goes in; offering it again is refused.
    cc_reason_t reason;
    ck_assert_int_eq (cc_chain_commit (node->chain, block, NULL, &reason), 0);
    ck_assert_uint_eq (cc_chain_height (node->chain), 3);
    cc_block_t *again = s_stored (node->chain, 3);
    s_snapshot_t before, after;
    s_snapshot (node, &before);
    ck_assert_int_eq (cc_chain_commit (node->chain, again, NULL, &reason), CC_E_WRONG_HEIGHT);
    exec = cc_exec_new (cc_chain_state (node->chain), 4, cc_block_proposer (again));
    ck_assert_int_eq (cc_chain_commit (node->chain, again, &exec, &reason), CC_E_WRONG_HEIGHT);
    ck_assert_ptr_null (exec);
    s_snapshot (node, &after);
    ck_assert_mem_eq (&after, &before, sizeof (before));
    s_assert_consistent (node);
    cc_block_destroy (&again);
    cc_block_destroy (&block);
    s_txs_destroy (txs, 2);
    s_node_destroy (&node);
}
END_TEST

//  --- Crashes --------------------------------------------------------------------------

//  Exit codes of a child that failed (not a crash we caused).
#define S_CHILD_NO_OPEN 92
#define S_CHILD_NO_COMMIT 93
#define S_CHILD_NO_REPORT 94

//  In a child: opens the chain at dir and commits blocks of transfers,
//  reporting each height on fd, until limit blocks; then _exit()s without
//  closing anything.
static void
s_child_commit (const char *dir, int fd, size_t limit)
{
    s_node_t node = {0};
    node.dir = (char *) dir;
    node.genesis = s_genesis (1);
    node.keys [node.key_count++] = fixture_keypair (FIXTURE_CA (0));
    cc_reason_t reason;
    node.chain = cc_chain_open (dir, node.genesis, 0, &reason);
    if (!node.chain)
        _exit (S_CHILD_NO_OPEN);
    for (size_t step = 0; step < limit; step++) {
        cc_tx_t *txs [4];
        for (size_t index = 0; index < 4; index++)
            txs [index] = s_transfer (node.chain, index, (index + 1) % S_ACCOUNTS, 3, 0);
        cc_exec_t *exec = NULL;
        cc_block_t *block = s_build (&node, NULL, txs, 4, &exec);
        s_seal (&node, block, 1);
        if (cc_chain_commit (node.chain, block, &exec, &reason) != 0)
            _exit (S_CHILD_NO_COMMIT);
        uint64_t height = cc_chain_height (node.chain);
        if (write (fd, &height, sizeof (height)) != sizeof (height))
            _exit (S_CHILD_NO_REPORT);
        cc_block_destroy (&block);
        s_txs_destroy (txs, 4);
    }
    _exit (0);
}

//  Runs a child that commits; kills it with SIGKILL once it reported
//  kill_after heights (plus a short, varying delay), or lets it _exit()
//  after limit blocks. Returns the last height it reported.
static uint64_t
s_crash_round (const char *dir, size_t kill_after, unsigned delay_us, size_t limit)
{
    int fds [2];
    ck_assert_int_eq (pipe (fds), 0);
    pid_t pid = fork ();
    ck_assert_int_ge (pid, 0);
    if (pid == 0) {
        close (fds [0]);
        s_child_commit (dir, fds [1], limit);
    }
    close (fds [1]);
    uint64_t last = 0, height = 0;
    size_t seen = 0;
    while (read (fds [0], &height, sizeof (height)) == sizeof (height)) {
        last = height;
        if (kill_after && ++seen == kill_after) {
            usleep (delay_us);
            kill (pid, SIGKILL);
            break;
        }
    }
    //  Drain what it reported before it died.
    while (read (fds [0], &height, sizeof (height)) == sizeof (height))
        last = height;
    close (fds [0]);
    int status = 0;
    ck_assert_int_eq (waitpid (pid, &status, 0), pid);
    //  A child that ran to its limit exits 0, or under valgrind with
    //  valgrind's error code for the memory a crash leaves by design.
    if (kill_after == 0)
        ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) != S_CHILD_NO_OPEN
                           && WEXITSTATUS (status) != S_CHILD_NO_COMMIT
                           && WEXITSTATUS (status) != S_CHILD_NO_REPORT,
                       "child failed with status %d", status);
    else
        ck_assert_msg (WIFSIGNALED (status) || (WIFEXITED (status) && WEXITSTATUS (status) == 0),
                       "child failed with status %d", status);
    return last;
}

START_TEST (test_crash_atomicity)
{
    s_node_t *node = s_node_new ("chain-crash", 1);
    cc_chain_destroy (&node->chain);
    //  A child that commits three blocks and _exit()s without closing.
    uint64_t reported = s_crash_round (node->dir, 0, 0, 3);
    ck_assert_uint_eq (reported, 3);
    s_node_open (node);
    ck_assert_uint_eq (cc_chain_height (node->chain), 3);
    s_assert_consistent (node);
    //  Children killed at varying moments, mid-commit or between commits.
    unsigned delays [] = {0, 150, 400, 700, 1100, 1600, 2500, 6000};
    for (size_t round = 0; round < sizeof (delays) / sizeof (delays [0]); round++) {
        uint64_t before = cc_chain_height (node->chain);
        cc_chain_destroy (&node->chain);
        reported = s_crash_round (node->dir, 2 + round % 2, delays [round], 1000);
        s_node_open (node);
        uint64_t height = cc_chain_height (node->chain);
        //  Every reported commit survived; at most one more got in.
        ck_assert_uint_ge (reported, before + 2);
        ck_assert_uint_ge (height, reported);
        ck_assert_uint_le (height, reported + 1);
        s_assert_consistent (node);
    }
    //  The reopened chain goes on.
    cc_tx_t *txs [1] = {s_transfer (node->chain, 5, 0, 1, 0)};
    s_advance (node, txs, 1);
    s_txs_destroy (txs, 1);
    s_assert_consistent (node);
    s_node_destroy (&node);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("chain");
    TCase *tcase = tcase_create ("chain");
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_sync_one_validator);
    tcase_add_test (tcase, test_sync_four_validators);
    tcase_add_test (tcase, test_lookups);
    tcase_add_test (tcase, test_open_refusals);
    tcase_add_test (tcase, test_refusals);
    tcase_add_test (tcase, test_crash_atomicity);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
