/*  =========================================================================
    fixture - helpers shared by the unit tests
    =========================================================================
*/

#define _XOPEN_SOURCE 700
#include "fixture.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

cc_keypair_t *
fixture_keypair (unsigned n)
{
    uint8_t seed [CC_SEED_SIZE] = {0};
    seed [0] = 0xcc;
    seed [1] = (uint8_t) (n >> 24);
    seed [2] = (uint8_t) (n >> 16);
    seed [3] = (uint8_t) (n >> 8);
    seed [4] = (uint8_t) n;
    return cc_keypair_new_from_seed (seed);
}

char *
fixture_tempdir (const char *name)
{
    char *path = NULL;
    if (asprintf (&path, "/tmp/certchain-%s-XXXXXX", name) < 0)
        return NULL;
    if (!mkdtemp (path)) {
        free (path);
        return NULL;
    }
    return path;
}

static int
s_remove (const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    return remove (path);
}

void
fixture_rmtree (const char *path)
{
    if (path)
        nftw (path, s_remove, 16, FTW_DEPTH | FTW_PHYS);
}

//  --- Genesis and transactions ------------------------------------------------

cc_genesis_t *
fixture_genesis (size_t cas, size_t validators, size_t accounts, uint64_t balance)
{
    cc_genesis_t *genesis = cc_genesis_new (FIXTURE_CHAIN, FIXTURE_GENESIS_TIME_MS);
    if (!genesis)
        return NULL;
    int rc = 0;
    for (size_t index = 0; index < cas && rc == 0; index++) {
        cc_keypair_t *key = fixture_keypair (FIXTURE_CA (index));
        rc = cc_genesis_add_ca (genesis, cc_keypair_public (key), true);
        cc_keypair_destroy (&key);
    }
    for (size_t index = 0; index < validators && rc == 0; index++) {
        cc_keypair_t *key = fixture_keypair (FIXTURE_VALIDATOR (index));
        rc = cc_genesis_add_validator (genesis, cc_keypair_public (key));
        cc_keypair_destroy (&key);
    }
    for (size_t index = 0; index < accounts && rc == 0; index++) {
        cc_keypair_t *key = fixture_keypair (FIXTURE_ACCOUNT (index));
        rc = cc_genesis_add_account (genesis, cc_keypair_public (key), balance);
        cc_keypair_destroy (&key);
    }
    if (rc != 0)
        cc_genesis_destroy (&genesis);
    return genesis;
}

cc_tx_t *
fixture_transfer (cc_keypair_t *from, const uint8_t *to, uint64_t amount, uint64_t fee,
                  uint64_t nonce)
{
    Certchain__Transfer transfer = CERTCHAIN__TRANSFER__INIT;
    transfer.to = cc_bytes_view (to, CC_PUBKEY_SIZE);
    transfer.amount = amount;
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = nonce;
    body.fee = fee;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER;
    body.transfer = &transfer;
    return cc_tx_new (from, FIXTURE_CHAIN, &body);
}

cc_tx_t *
fixture_certify (cc_keypair_t *ca, const uint8_t *node, uint64_t valid_until, uint64_t fee,
                 uint64_t nonce)
{
    Certchain__MachineProfile profile = CERTCHAIN__MACHINE_PROFILE__INIT;
    profile.cpu_model = (char *) "fixture cpu";
    profile.cpu_cores = 2;
    profile.cpu_mhz = 2000;
    profile.memory_bytes = 4ull << 30;
    profile.disk_total_bytes = 100ull << 30;
    profile.disk_free_bytes = 50ull << 30;
    Certchain__ChallengeScore score = CERTCHAIN__CHALLENGE_SCORE__INIT;
    score.hashes_per_second = 1e6;
    score.argon2_mib_per_second = 2000;
    score.elapsed_ms = 400;
    Certchain__Certify certify = CERTCHAIN__CERTIFY__INIT;
    certify.node = cc_bytes_view (node, CC_PUBKEY_SIZE);
    certify.profile = &profile;
    certify.score = &score;
    certify.valid_until = valid_until;
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = nonce;
    body.fee = fee;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_CERTIFY;
    body.certify = &certify;
    return cc_tx_new (ca, FIXTURE_CHAIN, &body);
}

cc_tx_t *
fixture_revoke (cc_keypair_t *ca, const uint8_t *node, const char *reason, uint64_t fee,
                uint64_t nonce)
{
    Certchain__Revoke revoke = CERTCHAIN__REVOKE__INIT;
    revoke.node = cc_bytes_view (node, CC_PUBKEY_SIZE);
    revoke.reason = (char *) (reason ? reason : "");
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = nonce;
    body.fee = fee;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_REVOKE;
    body.revoke = &revoke;
    return cc_tx_new (ca, FIXTURE_CHAIN, &body);
}

cc_tx_t *
fixture_resign (cc_keypair_t *node, uint64_t fee, uint64_t nonce)
{
    Certchain__Resign resign = CERTCHAIN__RESIGN__INIT;
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = nonce;
    body.fee = fee;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_RESIGN;
    body.resign = &resign;
    return cc_tx_new (node, FIXTURE_CHAIN, &body);
}

int
fixture_vote (cc_keypair_t *key, Certchain__VoteType type, uint64_t height, uint32_t round,
              const uint8_t *block_hash, Certchain__Signed *envelope)
{
    Certchain__Vote vote = CERTCHAIN__VOTE__INIT;
    vote.type = type;
    vote.height = height;
    vote.round = round;
    if (block_hash)
        vote.block_hash = cc_bytes_view (block_hash, CC_HASH_SIZE);
    vote.validator = cc_bytes_view (cc_keypair_public (key), CC_PUBKEY_SIZE);
    return cc_signed_make (key, CC_DOMAIN_VOTE, FIXTURE_CHAIN, &vote.base, envelope);
}

cc_tx_t *
fixture_evidence_of (cc_keypair_t *signer, const Certchain__Signed *vote_a,
                     const Certchain__Signed *vote_b, uint64_t fee, uint64_t nonce)
{
    Certchain__Evidence evidence = CERTCHAIN__EVIDENCE__INIT;
    evidence.vote_a = (Certchain__Signed *) vote_a;
    evidence.vote_b = (Certchain__Signed *) vote_b;
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = nonce;
    body.fee = fee;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_EVIDENCE;
    body.evidence = &evidence;
    return cc_tx_new (signer, FIXTURE_CHAIN, &body);
}

cc_tx_t *
fixture_evidence (cc_keypair_t *signer, cc_keypair_t *offender, uint64_t height,
                  uint32_t round, uint64_t fee, uint64_t nonce)
{
    uint8_t hash_a [CC_HASH_SIZE], hash_b [CC_HASH_SIZE];
    cc_hash ("block a", 7, hash_a);
    cc_hash ("block b", 7, hash_b);
    Certchain__Signed vote_a, vote_b;
    if (fixture_vote (offender, CERTCHAIN__VOTE_TYPE__PRECOMMIT, height, round, hash_a,
                      &vote_a) != 0)
        return NULL;
    if (fixture_vote (offender, CERTCHAIN__VOTE_TYPE__PRECOMMIT, height, round, hash_b,
                      &vote_b) != 0) {
        cc_signed_clear (&vote_a);
        return NULL;
    }
    cc_tx_t *tx = fixture_evidence_of (signer, &vote_a, &vote_b, fee, nonce);
    cc_signed_clear (&vote_a);
    cc_signed_clear (&vote_b);
    return tx;
}

int
fixture_run (Suite *suite)
{
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_ENV);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
