/*  =========================================================================
    test_checker - one signature verification per tx per process

    A real chain in a temporary store (genesis: one CA, three validators,
    two funded accounts). A block of two transfers is built, verified
    through cc_chain_verify with the mempool's signature cache (as the
    driver validates a proposal) and remembered with
    cc_sigcache_remember_block. A later copy of such a tx, unopened as it
    comes from the gossip, is then admitted by the mempool without a
    second verification (stats.verifications), while a copy whose
    signature bytes were changed is still verified and refused. The
    checker, given the validator's known test, hands a remembered tx
    straight back unopened (no worker) and still sends an unknown one to
    a worker.
    =========================================================================
*/

#include <check.h>
#include <czmq.h>
#include <string.h>

#include "block.h"
#include "chain.h"
#include "checker.h"
#include "fixture.h"
#include "mempool.h"
#include "sigcache.h"

#define S_MEMBERS 4
#define S_TXS 2

typedef struct {
    char *dir;                          //  the store
    cc_genesis_t *genesis;              //  the chain's genesis
    cc_chain_t *chain;                  //  the chain
    cc_keypair_t *keys [S_MEMBERS];     //  CA 0, validators 0..2
    cc_keypair_t *accounts [S_TXS];     //  senders of the block's transfers
    cc_tx_t *txs [S_TXS];               //  the block's transfers (opened)
    cc_mempool_t *mempool;              //  the cache under test
    size_t done;                        //  txs the checker reported
    size_t done_unopened;               //  of which handed back unopened
} s_world_t;

//  --- The world -----------------------------------------------------------------------

static cc_keypair_t *
s_key_of (s_world_t *self, const uint8_t *pubkey)
{
    for (size_t index = 0; index < S_MEMBERS; index++)
        if (memcmp (cc_keypair_public (self->keys [index]), pubkey, CC_PUBKEY_SIZE) == 0)
            return self->keys [index];
    return NULL;
}

static s_world_t *
s_world_new (void)
{
    s_world_t *self = (s_world_t *) calloc (1, sizeof (s_world_t));
    ck_assert_ptr_nonnull (self);
    self->dir = fixture_tempdir ("checker");
    ck_assert_ptr_nonnull (self->dir);
    self->genesis = fixture_genesis (1, 3, S_TXS, 1000000);
    ck_assert_ptr_nonnull (self->genesis);
    cc_reason_t reason;
    self->chain = cc_chain_open (self->dir, self->genesis, 0, &reason);
    ck_assert_msg (self->chain != NULL, "chain: %s", reason.text);
    self->keys [0] = fixture_keypair (FIXTURE_CA (0));
    for (size_t index = 0; index < 3; index++)
        self->keys [1 + index] = fixture_keypair (FIXTURE_VALIDATOR (index));
    for (size_t index = 0; index < S_TXS; index++) {
        self->accounts [index] = fixture_keypair (FIXTURE_ACCOUNT (index));
        self->txs [index] = fixture_transfer (self->accounts [index],
                                              cc_keypair_public (self->keys [0]), 10, 1, 1);
        ck_assert_ptr_nonnull (self->txs [index]);
    }
    self->mempool = cc_mempool_new (FIXTURE_CHAIN, 1000, 1000000, NULL, NULL);
    ck_assert_ptr_nonnull (self->mempool);
    return self;
}

static void
s_world_destroy (s_world_t **self_p)
{
    s_world_t *self = *self_p;
    cc_mempool_destroy (&self->mempool);
    for (size_t index = 0; index < S_TXS; index++) {
        cc_tx_destroy (&self->txs [index]);
        cc_keypair_destroy (&self->accounts [index]);
    }
    for (size_t index = 0; index < S_MEMBERS; index++)
        cc_keypair_destroy (&self->keys [index]);
    cc_chain_destroy (&self->chain);
    cc_genesis_destroy (&self->genesis);
    fixture_rmtree (self->dir);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

//  An unopened copy of tx, as decoded from the gossip; flip changes one
//  signature byte.
static cc_tx_t *
s_copy (cc_tx_t *tx, bool flip)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_tx_encode (tx, &data, &size), 0);
    if (flip) {
        const uint8_t *signature = cc_tx_envelope (tx)->signature.data;
        uint8_t *place = (uint8_t *) memmem (data, size, signature, CC_SIGNATURE_SIZE);
        ck_assert_ptr_nonnull (place);
        place [0] ^= 0x01;
    }
    cc_reason_t reason;
    cc_tx_t *copy = cc_tx_decode (data, size, &reason);
    free (data);
    ck_assert_ptr_nonnull (copy);
    ck_assert (!cc_tx_is_open (copy));
    return copy;
}

//  Builds the block of height 1 with the world's txs, verifies it as the
//  driver verifies a proposal (cache over the mempool), and on success
//  remembers its txs' signatures. The cache's misses go to misses_p.
static void
s_verify_block (s_world_t *self, uint64_t *misses_p)
{
    cc_state_t *state = cc_chain_state (self->chain);
    cc_valset_t *valset = cc_state_valset (state, 1);
    ck_assert_ptr_nonnull (valset);
    cc_keypair_t *proposer = s_key_of (self, cc_valset_proposer (valset, 1, 0));
    ck_assert_ptr_nonnull (proposer);
    cc_block_build_args_t args = {
        .state = state,
        .proposer = proposer,
        .height = 1,
        .time_ms = cc_chain_tip_time (self->chain) + 1000,
        .parent_hash = cc_chain_tip_hash (self->chain),
        .candidates = self->txs,
        .count = S_TXS,
    };
    cc_reason_t reason;
    cc_block_t *built = cc_block_build (&args, NULL, &reason);
    ck_assert_msg (built != NULL, "build: %s", reason.text);
    ck_assert_uint_eq (cc_block_tx_count (built), S_TXS);
    //  The proposal as it arrives: decoded, its txs unopened.
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_block_encode (built, false, &data, &size), 0);
    cc_block_t *block = cc_block_decode (data, size, &reason);
    free (data);
    ck_assert_ptr_nonnull (block);
    cc_sigcache_t cache;
    cc_sigcache_init (&cache, self->mempool, block);
    cc_block_verify_opts_t opts = {
        .signature_checked = cc_sigcache_checked,
        .signature_argument = &cache,
    };
    cc_exec_t *exec = NULL;
    int rc = cc_chain_verify (self->chain, block, &opts, &exec, &reason);
    ck_assert_msg (rc == 0, "verify: %s", reason.text);
    cc_sigcache_remember_block (self->mempool, block);
    *misses_p = cache.misses;
    cc_exec_destroy (&exec);
    cc_block_destroy (&block);
    cc_block_destroy (&built);
    cc_valset_destroy (&valset);
}

//  --- Tests -------------------------------------------------------------------------------

//  Accept: a tx remembered from a verified block is admitted unverified.
START_TEST (test_block_remembered_admits_without_check)
{
    s_world_t *world = s_world_new ();
    uint64_t misses = 0;
    s_verify_block (world, &misses);
    //  Nothing was known: the block verified both signatures itself.
    ck_assert_uint_eq (misses, S_TXS);
    for (size_t index = 0; index < S_TXS; index++) {
        cc_tx_t *copy = s_copy (world->txs [index], false);
        ck_assert (cc_mempool_signature_matches (world->mempool, copy));
        ck_assert_int_eq (cc_mempool_add (world->mempool, &copy, NULL), 0);
        ck_assert_ptr_null (copy);
    }
    cc_mempool_stats_t stats;
    cc_mempool_stats (world->mempool, &stats);
    ck_assert_uint_eq (stats.admitted, S_TXS);
    ck_assert_uint_eq (stats.verifications, 0);
    ck_assert_uint_eq (stats.signature_hits, S_TXS);
    s_world_destroy (&world);
}
END_TEST

//  Refuse: other signature bytes for a remembered hash are verified (and
//  fail); a tx of no block is verified as before.
START_TEST (test_block_remembered_keys_on_signature)
{
    s_world_t *world = s_world_new ();
    uint64_t misses = 0;
    s_verify_block (world, &misses);
    cc_tx_t *copy = s_copy (world->txs [0], true);
    ck_assert (!cc_mempool_signature_matches (world->mempool, copy));
    ck_assert_int_eq (cc_mempool_add (world->mempool, &copy, NULL), CC_E_BAD_SIGNATURE);
    cc_tx_destroy (&copy);
    cc_mempool_stats_t stats;
    cc_mempool_stats (world->mempool, &stats);
    ck_assert_uint_eq (stats.verifications, 1);
    ck_assert_uint_eq (stats.signature_hits, 0);

    cc_tx_t *other = fixture_transfer (world->accounts [0], cc_keypair_public (world->keys [0]),
                                       10, 1, 2);
    copy = s_copy (other, false);
    cc_tx_destroy (&other);
    ck_assert (!cc_mempool_signature_matches (world->mempool, copy));
    ck_assert_int_eq (cc_mempool_add (world->mempool, &copy, NULL), 0);
    cc_mempool_stats (world->mempool, &stats);
    ck_assert_uint_eq (stats.verifications, 2);
    s_world_destroy (&world);
}
END_TEST

//  The known test the validator gives the checker (see validator.c).
static bool
s_known (void *argument, cc_tx_t *tx)
{
    s_world_t *self = (s_world_t *) argument;
    return cc_mempool_signature_matches (self->mempool, tx)
           || cc_mempool_contains (self->mempool, cc_tx_hash (tx));
}

static void
s_done (void *argument, cc_tx_t **tx_p, int code)
{
    s_world_t *self = (s_world_t *) argument;
    ck_assert_int_eq (code, 0);
    self->done++;
    if (!cc_tx_is_open (*tx_p))
        self->done_unopened++;
    ck_assert_int_eq (cc_mempool_add (self->mempool, tx_p, NULL), 0);
}

static int
s_until_done (zloop_t *loop, int timer_id, void *argument)
{
    (void) loop;
    (void) timer_id;
    s_world_t *self = (s_world_t *) argument;
    return self->done == S_TXS ? -1 : 0;
}

//  The checker hands a remembered tx back without a worker; an unknown
//  one is verified by a worker; neither is verified by the mempool.
START_TEST (test_checker_skips_known)
{
    s_world_t *world = s_world_new ();
    zloop_t *loop = zloop_new ();
    ck_assert_ptr_nonnull (loop);
    cc_checker_t *checker = cc_checker_new (loop, FIXTURE_CHAIN, 1, 100, s_done, world);
    ck_assert_ptr_nonnull (checker);
    cc_checker_set_known (checker, s_known);
    //  Queue both, then let a proposal of the first one's block verify it.
    cc_tx_t *known = s_copy (world->txs [0], false);
    cc_tx_t *unknown = s_copy (world->txs [1], false);
    ck_assert_int_eq (cc_checker_submit (checker, &known), 0);
    ck_assert_int_eq (cc_checker_submit (checker, &unknown), 0);
    cc_mempool_signature_remember (world->mempool, world->txs [0]);
    cc_checker_flush (checker);
    //  The known tx came back at once, unopened.
    ck_assert_uint_eq (world->done, 1);
    ck_assert_uint_eq (world->done_unopened, 1);
    ck_assert_uint_eq (cc_checker_skipped (checker), 1);
    ck_assert_int_ge (zloop_timer (loop, 5, 0, s_until_done, world), 0);
    ck_assert_int_ge (zloop_timer (loop, 20000, 1, s_until_done, world), 0);
    zloop_start (loop);
    ck_assert_uint_eq (world->done, S_TXS);
    ck_assert_uint_eq (world->done_unopened, 1);
    ck_assert_uint_eq (cc_checker_checked (checker), 1);
    ck_assert_uint_eq (cc_checker_pending (checker), 0);
    cc_mempool_stats_t stats;
    cc_mempool_stats (world->mempool, &stats);
    ck_assert_uint_eq (stats.admitted, S_TXS);
    ck_assert_uint_eq (stats.verifications, 0);
    ck_assert_uint_eq (stats.signature_hits, 1);
    cc_checker_destroy (&checker);
    zloop_destroy (&loop);
    s_world_destroy (&world);
}
END_TEST

//  A tx with other signature bytes than the remembered ones is not known:
//  a worker verifies it and refuses it.
static void
s_done_refused (void *argument, cc_tx_t **tx_p, int code)
{
    s_world_t *self = (s_world_t *) argument;
    (void) tx_p;
    ck_assert_int_eq (code, CC_E_BAD_SIGNATURE);
    self->done++;
}

static int
s_until_one (zloop_t *loop, int timer_id, void *argument)
{
    (void) loop;
    (void) timer_id;
    s_world_t *self = (s_world_t *) argument;
    return self->done == 1 ? -1 : 0;
}

START_TEST (test_checker_verifies_other_signature)
{
    s_world_t *world = s_world_new ();
    zloop_t *loop = zloop_new ();
    ck_assert_ptr_nonnull (loop);
    cc_checker_t *checker = cc_checker_new (loop, FIXTURE_CHAIN, 1, 100, s_done_refused, world);
    ck_assert_ptr_nonnull (checker);
    cc_checker_set_known (checker, s_known);
    cc_mempool_signature_remember (world->mempool, world->txs [0]);
    cc_tx_t *forged = s_copy (world->txs [0], true);
    ck_assert_int_eq (cc_checker_submit (checker, &forged), 0);
    cc_checker_flush (checker);
    ck_assert_uint_eq (cc_checker_skipped (checker), 0);
    ck_assert_int_ge (zloop_timer (loop, 5, 0, s_until_one, world), 0);
    ck_assert_int_ge (zloop_timer (loop, 20000, 1, s_until_one, world), 0);
    zloop_start (loop);
    ck_assert_uint_eq (world->done, 1);
    ck_assert_uint_eq (cc_checker_checked (checker), 1);
    ck_assert_uint_eq (cc_checker_failed (checker), 1);
    cc_checker_destroy (&checker);
    zloop_destroy (&loop);
    s_world_destroy (&world);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("validator_checker");
    TCase *tcase = tcase_create ("core");
    tcase_add_test (tcase, test_block_remembered_admits_without_check);
    tcase_add_test (tcase, test_block_remembered_keys_on_signature);
    tcase_add_test (tcase, test_checker_skips_known);
    tcase_add_test (tcase, test_checker_verifies_other_signature);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
