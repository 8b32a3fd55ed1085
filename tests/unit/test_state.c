/*  =========================================================================
    test_state - every rule of the state with its accept and refuse cases,
    the app hash (determinism, sensitivity, the formula), jailing, expiry,
    the validator-set history and reopening a store

    Each refusal is checked by s_refused: the refused transaction returns its
    own code, and a block holding only that attempt has the app hash of an
    empty block, with the signer's account untouched.
    =========================================================================
*/

#include "fixture.h"
#include "state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Account that receives the fees in every test block, and keys never in
//  a fixture genesis (candidates, outsiders): far above its numbering.
#define S_PROPOSER 900000
#define S_OUTSIDER 800000
//  Accounts of the many-accounts block (override to measure).
#ifndef S_MANY
#define S_MANY 300
#endif

//  --- A world: one store, one genesis, one state --------------------------------

typedef struct {
    char *dir;                  //  temporary directory of the store
    cc_store_t *store;          //  the store
    cc_genesis_t *genesis;      //  owned genesis
    cc_state_t *state;          //  state over both
    uint8_t proposer [CC_PUBKEY_SIZE];  //  fee receiver
} s_world_t;

static const char *const s_families [] = {CC_STATE_FAMILY, NULL};

//  A genesis with test defaults: no jailing, room for 10 validators.
static cc_genesis_t *
s_genesis (size_t cas, size_t validators, size_t accounts, uint64_t balance)
{
    cc_genesis_t *genesis = fixture_genesis (cas, validators, accounts, balance);
    ck_assert_ptr_nonnull (genesis);
    cc_genesis_params (genesis)->jail_after = 0;
    cc_genesis_params (genesis)->max_validators = 10;
    return genesis;
}

static void
s_world_open (s_world_t *self)
{
    cc_reason_t reason;
    self->store = cc_store_open (self->dir, s_families, 0, &reason);
    ck_assert_msg (self->store != NULL, "%s", cc_reason_text (&reason));
    self->state = cc_state_new (self->store, self->genesis, &reason);
    ck_assert_msg (self->state != NULL, "%s", cc_reason_text (&reason));
}

static void
s_world_close (s_world_t *self)
{
    cc_state_destroy (&self->state);
    cc_store_destroy (&self->store);
}

//  Takes ownership of genesis.
static s_world_t *
s_world_new (cc_genesis_t *genesis)
{
    s_world_t *self = (s_world_t *) calloc (1, sizeof (s_world_t));
    self->dir = fixture_tempdir ("state");
    self->genesis = genesis;
    cc_keypair_t *proposer = fixture_keypair (S_PROPOSER);
    memcpy (self->proposer, cc_keypair_public (proposer), CC_PUBKEY_SIZE);
    cc_keypair_destroy (&proposer);
    s_world_open (self);
    return self;
}

static void
s_world_destroy (s_world_t **self_p)
{
    s_world_t *self = *self_p;
    s_world_close (self);
    cc_genesis_destroy (&self->genesis);
    fixture_rmtree (self->dir);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

//  Executes and commits the next block with txs (each must apply) and the
//  last commit's signers; destroys the txs. App hash into app_hash if set.
static void
s_block_signed (s_world_t *self, cc_tx_t **txs, size_t count, const uint8_t *signers,
                size_t signer_count, uint8_t *app_hash)
{
    uint64_t height = cc_state_height (self->state) + 1;
    cc_exec_t *exec = cc_exec_new (self->state, height, self->proposer);
    ck_assert_ptr_nonnull (exec);
    cc_exec_set_last_commit_signers (exec, signers, signer_count);
    for (size_t index = 0; index < count; index++) {
        cc_reason_t reason;
        cc_reason_clear (&reason);
        int rc = cc_exec_apply (exec, txs [index], &reason);
        ck_assert_msg (rc == 0, "block %" PRIu64 " tx %zu: %s", height, index,
                       cc_reason_text (&reason));
        cc_tx_destroy (&txs [index]);
    }
    ck_assert_uint_eq (cc_exec_tx_count (exec), count);
    uint8_t hash [CC_HASH_SIZE];
    ck_assert_int_eq (cc_exec_finish (exec, hash), 0);
    cc_batch_t *batch = cc_store_batch (self->store);
    ck_assert_int_eq (cc_exec_write (exec, batch), 0);
    ck_assert_int_eq (cc_store_commit (self->store, &batch, false), 0);
    cc_state_commit (self->state, &exec);
    ck_assert_ptr_null (exec);
    ck_assert_uint_eq (cc_state_height (self->state), height);
    ck_assert_mem_eq (cc_state_app_hash (self->state), hash, CC_HASH_SIZE);
    if (app_hash)
        memcpy (app_hash, hash, CC_HASH_SIZE);
}

static void
s_block (s_world_t *self, cc_tx_t **txs, size_t count)
{
    s_block_signed (self, txs, count, NULL, 0, NULL);
}

//  One tx in a block of its own.
static void
s_block1 (s_world_t *self, cc_tx_t *tx)
{
    s_block (self, &tx, 1);
}

//  The app hash an empty next block would have.
static void
s_empty_hash (s_world_t *self, uint8_t *hash)
{
    cc_exec_t *exec = cc_exec_new (self->state, cc_state_height (self->state) + 1,
                                   self->proposer);
    ck_assert_int_eq (cc_exec_finish (exec, hash), 0);
    cc_exec_destroy (&exec);
}

//  Asserts tx is refused with code and leaves no trace: the block holding
//  the attempt hashes as an empty block and the signer's account reads as
//  before. Destroys tx.
static void
s_refused (s_world_t *self, cc_tx_t *tx, int code)
{
    ck_assert_ptr_nonnull (tx);
    uint8_t signer [CC_PUBKEY_SIZE];
    memcpy (signer, cc_tx_signer (tx), CC_PUBKEY_SIZE);
    uint64_t balance, nonce, exec_balance, exec_nonce;
    cc_state_account (self->state, signer, &balance, &nonce);
    uint64_t proposer_balance, proposer_nonce;
    cc_state_account (self->state, self->proposer, &proposer_balance, &proposer_nonce);

    cc_exec_t *exec = cc_exec_new (self->state, cc_state_height (self->state) + 1,
                                   self->proposer);
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_exec_apply (exec, tx, &reason);
    ck_assert_msg (rc == code, "expected %s, got %s: %s", cc_error_name (code),
                   cc_error_name (rc), cc_reason_text (&reason));
    ck_assert_int_eq (reason.code, code);
    ck_assert_uint_eq (cc_exec_tx_count (exec), 0);
    cc_exec_account (exec, signer, &exec_balance, &exec_nonce);
    ck_assert_uint_eq (exec_balance, balance);
    ck_assert_uint_eq (exec_nonce, nonce);
    cc_exec_account (exec, self->proposer, &exec_balance, &exec_nonce);
    ck_assert_uint_eq (exec_balance, proposer_balance);
    uint8_t hash [CC_HASH_SIZE], empty [CC_HASH_SIZE];
    ck_assert_int_eq (cc_exec_finish (exec, hash), 0);
    cc_exec_destroy (&exec);
    s_empty_hash (self, empty);
    ck_assert_mem_eq (hash, empty, CC_HASH_SIZE);
    cc_tx_destroy (&tx);
}

static uint64_t
s_balance (s_world_t *self, const uint8_t *address)
{
    uint64_t balance, nonce;
    cc_state_account (self->state, address, &balance, &nonce);
    return balance;
}

static uint64_t
s_nonce (s_world_t *self, const uint8_t *address)
{
    uint64_t balance, nonce;
    cc_state_account (self->state, address, &balance, &nonce);
    return nonce;
}

static bool
s_in_valset (s_world_t *self, uint64_t height, const uint8_t *pubkey)
{
    cc_valset_t *valset = cc_state_valset (self->state, height);
    ck_assert_ptr_nonnull (valset);
    bool contains = cc_valset_contains (valset, pubkey);
    cc_valset_destroy (&valset);
    return contains;
}

static Certchain__ValidatorStatus
s_status (s_world_t *self, const uint8_t *pubkey)
{
    Certchain__ValidatorRecord *record = NULL;
    if (cc_state_validator (self->state, pubkey, &record) != 0)
        return CERTCHAIN__VALIDATOR_STATUS__STATUS_UNKNOWN;
    Certchain__ValidatorStatus status = record->status;
    certchain__validator_record__free_unpacked (record, NULL);
    return status;
}

//  Fixture keys by role, released together.
typedef struct {
    cc_keypair_t *ca [3];           //  genesis CAs 0..2
    cc_keypair_t *validator [3];    //  genesis validators 0..2
    cc_keypair_t *account [3];      //  genesis accounts 0..2
    cc_keypair_t *outsider [3];     //  keys outside genesis
} s_keys_t;

static void
s_keys_new (s_keys_t *keys)
{
    for (unsigned index = 0; index < 3; index++) {
        keys->ca [index] = fixture_keypair (FIXTURE_CA (index));
        keys->validator [index] = fixture_keypair (FIXTURE_VALIDATOR (index));
        keys->account [index] = fixture_keypair (FIXTURE_ACCOUNT (index));
        keys->outsider [index] = fixture_keypair (S_OUTSIDER + index);
    }
}

static void
s_keys_destroy (s_keys_t *keys)
{
    for (unsigned index = 0; index < 3; index++) {
        cc_keypair_destroy (&keys->ca [index]);
        cc_keypair_destroy (&keys->validator [index]);
        cc_keypair_destroy (&keys->account [index]);
        cc_keypair_destroy (&keys->outsider [index]);
    }
}

#define PUB(key) cc_keypair_public (key)

//  --- Transfers -------------------------------------------------------------------

START_TEST (test_transfer_ok)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 0, 2, 1000));
    ck_assert_uint_eq (cc_state_height (w->state), 0);
    ck_assert_uint_eq (s_balance (w, PUB (k.account [0])), 1000);
    uint64_t balance, nonce;
    ck_assert_int_eq (cc_state_account (w->state, w->proposer, &balance, &nonce),
                      CC_E_NOT_FOUND);
    ck_assert_uint_eq (balance, 0);

    //  Two transfers of one signer in one block: nonces 1 and 2.
    cc_tx_t *txs [2] = {
        fixture_transfer (k.account [0], PUB (k.account [1]), 100, 5, 1),
        fixture_transfer (k.account [0], PUB (k.outsider [0]), 50, 3, 2),
    };
    cc_exec_t *exec = cc_exec_new (w->state, 1, w->proposer);
    ck_assert_ptr_null (cc_exec_new (w->state, 2, w->proposer));
    ck_assert_int_eq (cc_exec_apply (exec, txs [0], NULL), 0);
    ck_assert_int_eq (cc_exec_account (exec, PUB (k.account [0]), &balance, &nonce), 0);
    ck_assert_uint_eq (balance, 895);
    ck_assert_uint_eq (nonce, 1);
    //  The committed state does not move before commit.
    ck_assert_uint_eq (s_balance (w, PUB (k.account [0])), 1000);
    cc_exec_destroy (&exec);
    s_block (w, txs, 2);

    ck_assert_uint_eq (s_balance (w, PUB (k.account [0])), 1000 - 105 - 53);
    ck_assert_uint_eq (s_nonce (w, PUB (k.account [0])), 2);
    ck_assert_uint_eq (s_balance (w, PUB (k.account [1])), 1100);
    ck_assert_uint_eq (s_nonce (w, PUB (k.account [1])), 0);
    ck_assert_uint_eq (s_balance (w, PUB (k.outsider [0])), 50);
    ck_assert_uint_eq (s_balance (w, w->proposer), 8);
    //  A peek reads the same committed values, and NOT_FOUND for an
    //  unknown address.
    ck_assert_int_eq (cc_state_account_peek (w->state, PUB (k.account [0]), &balance, &nonce), 0);
    ck_assert_uint_eq (balance, 1000 - 105 - 53);
    ck_assert_uint_eq (nonce, 2);
    ck_assert_int_eq (cc_state_account_peek (w->state, PUB (k.outsider [1]), &balance, &nonce),
                      CC_E_NOT_FOUND);
    ck_assert_uint_eq (balance, 0);
    ck_assert_uint_eq (nonce, 0);

    //  An exact balance may be spent to zero; a transfer to oneself pays
    //  only the fee; the proposer may pay itself a fee.
    s_block1 (w, fixture_transfer (k.outsider [0], PUB (k.outsider [0]), 40, 10, 1));
    ck_assert_uint_eq (s_balance (w, PUB (k.outsider [0])), 40);
    s_block1 (w, fixture_transfer (k.outsider [0], PUB (k.account [1]), 40, 0, 2));
    ck_assert_uint_eq (s_balance (w, PUB (k.outsider [0])), 0);
    ck_assert_uint_eq (s_balance (w, PUB (k.account [1])), 1140);
    cc_keypair_t *proposer = fixture_keypair (S_PROPOSER);
    s_block1 (w, fixture_transfer (proposer, PUB (k.account [1]), 1, 7, 1));
    ck_assert_uint_eq (s_balance (w, w->proposer), 18 - 1);
    cc_keypair_destroy (&proposer);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_transfer_bad_signature)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 0, 2, 1000));
    cc_tx_t *good = fixture_transfer (k.account [0], PUB (k.account [1]), 10, 1, 1);
    Certchain__Signed envelope;
    ck_assert_int_eq (cc_signed_copy (cc_tx_envelope (good), &envelope), 0);
    envelope.signature.data [10] ^= 0x01;
    cc_tx_t *bad = cc_tx_from_envelope (&envelope, NULL);
    cc_signed_clear (&envelope);
    ck_assert_ptr_nonnull (bad);
    ck_assert (!cc_tx_is_open (bad));
    //  Opened without trusting an earlier check: the signature fails.
    ck_assert_int_eq (cc_tx_open (bad, FIXTURE_CHAIN, false, NULL), CC_E_BAD_SIGNATURE);
    s_refused (w, bad, CC_E_BAD_SIGNATURE);
    //  Not opened beforehand: cc_exec_apply opens it and refuses too.
    ck_assert_int_eq (cc_signed_copy (cc_tx_envelope (good), &envelope), 0);
    envelope.signature.data [0] ^= 0x80;
    bad = cc_tx_from_envelope (&envelope, NULL);
    cc_signed_clear (&envelope);
    s_refused (w, bad, CC_E_BAD_SIGNATURE);
    s_block1 (w, good);
    ck_assert_uint_eq (s_balance (w, PUB (k.account [1])), 1010);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_transfer_wrong_chain)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 0, 2, 1000));
    Certchain__Transfer transfer = CERTCHAIN__TRANSFER__INIT;
    transfer.to = cc_bytes_view (PUB (k.account [1]), CC_PUBKEY_SIZE);
    transfer.amount = 10;
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = 1;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER;
    body.transfer = &transfer;
    //  Opened (valid) for its own chain, then offered to this one.
    cc_tx_t *tx = cc_tx_new (k.account [0], "another-chain", &body);
    ck_assert (cc_tx_is_open (tx));
    s_refused (w, tx, CC_E_WRONG_CHAIN);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_transfer_nonces)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 0, 2, 1000));
    s_refused (w, fixture_transfer (k.account [0], PUB (k.account [1]), 10, 0, 0),
               CC_E_NONCE_REPLAY);
    s_refused (w, fixture_transfer (k.account [0], PUB (k.account [1]), 10, 0, 2),
               CC_E_NONCE_GAP);
    s_block1 (w, fixture_transfer (k.account [0], PUB (k.account [1]), 10, 0, 1));
    //  Replay of the same transaction, and of an older nonce.
    s_refused (w, fixture_transfer (k.account [0], PUB (k.account [1]), 10, 0, 1),
               CC_E_NONCE_REPLAY);
    s_refused (w, fixture_transfer (k.account [0], PUB (k.account [1]), 10, 0, 3),
               CC_E_NONCE_GAP);
    //  Within one block the nonce moves with each transaction.
    cc_exec_t *exec = cc_exec_new (w->state, 2, w->proposer);
    cc_tx_t *tx = fixture_transfer (k.account [0], PUB (k.account [1]), 10, 0, 2);
    ck_assert_int_eq (cc_exec_apply (exec, tx, NULL), 0);
    cc_tx_t *again = fixture_transfer (k.account [0], PUB (k.account [1]), 11, 0, 2);
    ck_assert_int_eq (cc_exec_apply (exec, again, NULL), CC_E_NONCE_REPLAY);
    cc_exec_destroy (&exec);
    cc_tx_destroy (&tx);
    cc_tx_destroy (&again);
    s_block1 (w, fixture_transfer (k.account [0], PUB (k.account [1]), 10, 0, 2));
    ck_assert_uint_eq (s_nonce (w, PUB (k.account [0])), 2);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_transfer_balance)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 0, 2, 1000));
    s_refused (w, fixture_transfer (k.account [0], PUB (k.account [1]), 1001, 0, 1),
               CC_E_INSUFFICIENT_BALANCE);
    s_refused (w, fixture_transfer (k.account [0], PUB (k.account [1]), 1000, 1, 1),
               CC_E_INSUFFICIENT_BALANCE);
    s_refused (w, fixture_transfer (k.account [0], PUB (k.account [1]), 1, 1000, 1),
               CC_E_INSUFFICIENT_BALANCE);
    //  An account that does not exist has nothing to pay with.
    s_refused (w, fixture_transfer (k.outsider [0], PUB (k.account [1]), 1, 0, 1),
               CC_E_INSUFFICIENT_BALANCE);
    s_refused (w, fixture_transfer (k.account [0], PUB (k.account [1]), 0, 1, 1),
               CC_E_ZERO_AMOUNT);
    s_block1 (w, fixture_transfer (k.account [0], PUB (k.account [1]), 999, 1, 1));
    ck_assert_uint_eq (s_balance (w, PUB (k.account [0])), 0);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_transfer_overflow)
{
    s_keys_t k;
    s_keys_new (&k);
    //  Balances whose total overflows: genesis validation refuses such a
    //  file, so credits cannot overflow on a real chain; the state checks
    //  every sum anyway, and this unvalidated genesis shows it.
    cc_genesis_t *genesis = s_genesis (1, 0, 0, 0);
    ck_assert_int_eq (cc_genesis_add_account (genesis, PUB (k.account [0]), UINT64_MAX - 5), 0);
    ck_assert_int_eq (cc_genesis_add_account (genesis, PUB (k.account [1]), 10), 0);
    s_world_t *w = s_world_new (genesis);
    ck_assert_uint_eq (s_balance (w, PUB (k.account [0])), UINT64_MAX - 5);
    //  amount + fee wraps around.
    s_refused (w, fixture_transfer (k.account [0], PUB (k.account [1]), UINT64_MAX, 1, 1),
               CC_E_AMOUNT_OVERFLOW);
    s_refused (w, fixture_transfer (k.account [0], PUB (k.account [1]), 2, UINT64_MAX - 1, 1),
               CC_E_AMOUNT_OVERFLOW);
    //  The recipient's balance would wrap around.
    s_refused (w, fixture_transfer (k.account [1], PUB (k.account [0]), 6, 0, 1),
               CC_E_AMOUNT_OVERFLOW);
    s_block1 (w, fixture_transfer (k.account [1], PUB (k.account [0]), 5, 0, 1));
    ck_assert_uint_eq (s_balance (w, PUB (k.account [0])), UINT64_MAX);
    //  The proposer's balance would wrap around with the fee.
    memcpy (w->proposer, PUB (k.account [0]), CC_PUBKEY_SIZE);
    s_refused (w, fixture_transfer (k.account [1], PUB (k.outsider [0]), 1, 1, 2),
               CC_E_AMOUNT_OVERFLOW);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

//  --- Certify, revoke, resign -------------------------------------------------------

START_TEST (test_certify_and_revoke_by_non_ca)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 1, 1, 1000));
    s_refused (w, fixture_certify (k.account [0], PUB (k.outsider [0]), 100, 0, 1),
               CC_E_NOT_CA);
    s_refused (w, fixture_certify (k.validator [0], PUB (k.outsider [0]), 100, 0, 1),
               CC_E_NOT_CA);
    s_refused (w, fixture_revoke (k.account [0], PUB (k.validator [0]), "no", 0, 1),
               CC_E_NOT_CA);
    s_refused (w, fixture_revoke (k.validator [0], PUB (k.validator [0]), "no", 0, 1),
               CC_E_NOT_CA);
    //  A genesis CA cannot be made a validator.
    s_refused (w, fixture_certify (k.ca [0], PUB (k.ca [0]), 100, 0, 1), CC_E_ALREADY_ACTIVE);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_certify_ok)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 1, 1, 1000));
    const uint8_t *node = PUB (k.outsider [0]);
    ck_assert (!s_in_valset (w, 1, node));
    //  A fee is paid from the CA's own account (it has none: fee 0 works).
    s_block1 (w, fixture_certify (k.ca [0], node, 100, 0, 1));
    ck_assert (!s_in_valset (w, 1, node));
    ck_assert (s_in_valset (w, 2, node));
    ck_assert (s_in_valset (w, 2, PUB (k.ca [0])));
    ck_assert (s_in_valset (w, 2, PUB (k.validator [0])));
    Certchain__ValidatorRecord *record = NULL;
    ck_assert_int_eq (cc_state_validator (w->state, node, &record), 0);
    ck_assert_int_eq (record->status, CERTCHAIN__VALIDATOR_STATUS__ACTIVE);
    ck_assert_uint_eq (record->since_height, 2);
    ck_assert_uint_eq (record->valid_until, 100);
    ck_assert_uint_eq (record->status_height, 1);
    ck_assert (cc_bytes_equal (record->certified_by, cc_bytes_view (PUB (k.ca [0]), 32)));
    ck_assert_ptr_nonnull (record->profile);
    ck_assert_uint_eq (record->profile->cpu_cores, 2);
    certchain__validator_record__free_unpacked (record, NULL);
    ck_assert_uint_eq (s_nonce (w, PUB (k.ca [0])), 1);
    //  The genesis validator has a record as well.
    ck_assert_int_eq (cc_state_validator (w->state, PUB (k.validator [0]), &record), 0);
    ck_assert_uint_eq (record->since_height, 1);
    ck_assert_uint_eq (record->valid_until, UINT64_MAX);
    certchain__validator_record__free_unpacked (record, NULL);
    ck_assert_int_eq (cc_state_validator (w->state, PUB (k.ca [0]), &record), CC_E_NOT_FOUND);
    Certchain__ValidatorRecord **records = NULL;
    size_t count = 0;
    ck_assert_int_eq (cc_state_validators (w->state, &records, &count), 0);
    ck_assert_uint_eq (count, 2);
    ck_assert (memcmp (records [0]->pubkey.data, records [1]->pubkey.data, 32) < 0);
    for (size_t index = 0; index < count; index++)
        certchain__validator_record__free_unpacked (records [index], NULL);
    free (records);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_revoke)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (2, 2, 1, 1000));
    const uint8_t *node = PUB (k.validator [0]);
    s_refused (w, fixture_revoke (k.ca [0], PUB (k.outsider [0]), "who", 0, 1),
               CC_E_UNKNOWN_NODE);
    s_refused (w, fixture_revoke (k.ca [0], PUB (k.ca [1]), "a CA", 0, 1), CC_E_UNKNOWN_NODE);
    //  Any CA may revoke.
    s_block1 (w, fixture_revoke (k.ca [1], node, "failed audit", 0, 1));
    ck_assert (s_in_valset (w, 1, node));
    ck_assert (!s_in_valset (w, 2, node));
    ck_assert (s_in_valset (w, 2, PUB (k.validator [1])));
    Certchain__ValidatorRecord *record = NULL;
    ck_assert_int_eq (cc_state_validator (w->state, node, &record), 0);
    ck_assert_int_eq (record->status, CERTCHAIN__VALIDATOR_STATUS__REVOKED);
    ck_assert_str_eq (record->reason, "failed audit");
    ck_assert_uint_eq (record->status_height, 1);
    certchain__validator_record__free_unpacked (record, NULL);
    s_refused (w, fixture_revoke (k.ca [0], node, "again", 0, 1), CC_E_NOT_ACTIVE);
    //  A revoked node may be certified again: a new since_height.
    s_block1 (w, fixture_certify (k.ca [0], node, 50, 0, 1));
    ck_assert (!s_in_valset (w, 2, node));
    ck_assert (s_in_valset (w, 3, node));
    ck_assert_int_eq (cc_state_validator (w->state, node, &record), 0);
    ck_assert_uint_eq (record->since_height, 3);
    ck_assert_str_eq (record->reason, "");
    certchain__validator_record__free_unpacked (record, NULL);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_certify_validity)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 0, 0, 0));
    const uint8_t *node = PUB (k.outsider [0]);
    //  In block 1 the node would enter at 2: valid_until 2 is already over.
    s_refused (w, fixture_certify (k.ca [0], node, 1, 0, 1), CC_E_CERT_EXPIRED);
    s_refused (w, fixture_certify (k.ca [0], node, 2, 0, 1), CC_E_CERT_EXPIRED);
    s_block1 (w, fixture_certify (k.ca [0], node, 3, 0, 1));
    ck_assert (s_in_valset (w, 2, node));
    s_block (w, NULL, 0);
    ck_assert (!s_in_valset (w, 3, node));
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_certify_renewal)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (2, 0, 0, 0));
    const uint8_t *node = PUB (k.outsider [0]);
    s_block1 (w, fixture_certify (k.ca [0], node, 5, 0, 1));                //  block 1
    s_block (w, NULL, 0);                                                   //  block 2
    //  Not extending: refused; extending by another CA: renewed.
    s_refused (w, fixture_certify (k.ca [1], node, 5, 0, 1), CC_E_ALREADY_ACTIVE);
    s_block1 (w, fixture_certify (k.ca [1], node, 10, 0, 1));               //  block 3
    s_refused (w, fixture_certify (k.ca [0], node, 8, 0, 2), CC_E_ALREADY_ACTIVE);
    Certchain__ValidatorRecord *record = NULL;
    ck_assert_int_eq (cc_state_validator (w->state, node, &record), 0);
    ck_assert_uint_eq (record->since_height, 2);
    ck_assert_uint_eq (record->valid_until, 10);
    ck_assert_uint_eq (record->status_height, 1);
    ck_assert (cc_bytes_equal (record->certified_by, cc_bytes_view (PUB (k.ca [1]), 32)));
    certchain__validator_record__free_unpacked (record, NULL);
    while (cc_state_height (w->state) < 10)
        s_block (w, NULL, 0);
    for (uint64_t height = 1; height <= 11; height++)
        ck_assert_msg (s_in_valset (w, height, node) == (height >= 2 && height < 10),
                       "height %" PRIu64, height);
    //  Expired at 10: a Certify now re-activates with a new since_height.
    s_block1 (w, fixture_certify (k.ca [0], node, 20, 0, 2));               //  block 11
    ck_assert_int_eq (cc_state_validator (w->state, node, &record), 0);
    ck_assert_uint_eq (record->since_height, 12);
    certchain__validator_record__free_unpacked (record, NULL);
    ck_assert (!s_in_valset (w, 11, node));
    ck_assert (s_in_valset (w, 12, node));
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_renewal_at_last_height)
{
    //  Renewed in the last block of its validity: no gap in the set.
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 0, 0, 0));
    const uint8_t *node = PUB (k.outsider [0]);
    s_block1 (w, fixture_certify (k.ca [0], node, 4, 0, 1));    //  in V(2), V(3)
    s_block (w, NULL, 0);                                       //  block 2
    s_block1 (w, fixture_certify (k.ca [0], node, 8, 0, 2));    //  block 3
    for (uint64_t height = 2; height <= 4; height++)
        ck_assert (s_in_valset (w, height, node));
    Certchain__ValidatorRecord *record = NULL;
    ck_assert_int_eq (cc_state_validator (w->state, node, &record), 0);
    ck_assert_uint_eq (record->since_height, 2);
    certchain__validator_record__free_unpacked (record, NULL);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_valset_full)
{
    s_keys_t k;
    s_keys_new (&k);
    //  The CA counts as a member: 1 CA + 2 validators + 1 certified = 4.
    cc_genesis_t *genesis = s_genesis (1, 2, 0, 0);
    cc_genesis_params (genesis)->max_validators = 4;
    s_world_t *w = s_world_new (genesis);
    s_block1 (w, fixture_certify (k.ca [0], PUB (k.outsider [0]), 100, 0, 1));
    s_refused (w, fixture_certify (k.ca [0], PUB (k.outsider [1]), 100, 0, 2),
               CC_E_VALSET_FULL);
    //  Two in one block: the second finds no room.
    cc_exec_t *exec = cc_exec_new (w->state, 2, w->proposer);
    cc_tx_t *first = fixture_revoke (k.ca [0], PUB (k.validator [0]), "make room", 0, 2);
    cc_tx_t *second = fixture_certify (k.ca [0], PUB (k.outsider [1]), 100, 0, 3);
    cc_tx_t *third = fixture_certify (k.ca [0], PUB (k.outsider [2]), 100, 0, 4);
    ck_assert_int_eq (cc_exec_apply (exec, first, NULL), 0);
    ck_assert_int_eq (cc_exec_apply (exec, second, NULL), 0);
    ck_assert_int_eq (cc_exec_apply (exec, third, NULL), CC_E_VALSET_FULL);
    cc_exec_destroy (&exec);
    cc_tx_destroy (&first);
    cc_tx_destroy (&second);
    cc_tx_destroy (&third);
    //  A renewal of a member needs no room.
    s_block1 (w, fixture_certify (k.ca [0], PUB (k.outsider [0]), 200, 0, 2));
    ck_assert (s_in_valset (w, 3, PUB (k.outsider [0])));
    //  Room again once a member leaves.
    s_block1 (w, fixture_revoke (k.ca [0], PUB (k.validator [0]), "make room", 0, 3));
    s_block1 (w, fixture_certify (k.ca [0], PUB (k.outsider [1]), 100, 0, 4));
    ck_assert (s_in_valset (w, 5, PUB (k.outsider [1])));
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_resign)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 2, 1, 1000));
    s_refused (w, fixture_resign (k.account [0], 0, 1), CC_E_NOT_ACTIVE);
    s_refused (w, fixture_resign (k.ca [0], 0, 1), CC_E_NOT_ACTIVE);
    s_block1 (w, fixture_resign (k.validator [1], 0, 1));
    ck_assert (s_in_valset (w, 1, PUB (k.validator [1])));
    ck_assert (!s_in_valset (w, 2, PUB (k.validator [1])));
    ck_assert (s_in_valset (w, 2, PUB (k.validator [0])));
    ck_assert_int_eq (s_status (w, PUB (k.validator [1])), CERTCHAIN__VALIDATOR_STATUS__RESIGNED);
    s_refused (w, fixture_resign (k.validator [1], 0, 2), CC_E_NOT_ACTIVE);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

//  --- Evidence ----------------------------------------------------------------------

START_TEST (test_evidence_ok)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 2, 1, 1000));
    const uint8_t *offender = PUB (k.validator [0]);
    //  Any signer, here an ordinary account paying a fee.
    s_block1 (w, fixture_evidence (k.account [0], k.validator [0], 7, 2, 3, 1));
    ck_assert (s_in_valset (w, 1, offender));
    ck_assert (!s_in_valset (w, 2, offender));
    Certchain__ValidatorRecord *record = NULL;
    ck_assert_int_eq (cc_state_validator (w->state, offender, &record), 0);
    ck_assert_int_eq (record->status, CERTCHAIN__VALIDATOR_STATUS__BANNED);
    ck_assert_ptr_nonnull (strstr (record->reason, "height 7 round 2"));
    certchain__validator_record__free_unpacked (record, NULL);
    ck_assert_uint_eq (s_balance (w, w->proposer), 3);
    //  Punished once only; and a banned node cannot be certified again.
    s_refused (w, fixture_evidence (k.account [0], k.validator [0], 8, 0, 0, 2),
               CC_E_ALREADY_PUNISHED);
    s_refused (w, fixture_certify (k.ca [0], offender, 100, 0, 1), CC_E_BANNED);
    //  Within one block, the second evidence is already too late.
    cc_exec_t *exec = cc_exec_new (w->state, 2, w->proposer);
    cc_tx_t *first = fixture_evidence (k.account [0], k.validator [1], 1, 0, 0, 2);
    cc_tx_t *second = fixture_evidence (k.ca [0], k.validator [1], 2, 0, 0, 1);
    ck_assert_int_eq (cc_exec_apply (exec, first, NULL), 0);
    ck_assert_int_eq (cc_exec_apply (exec, second, NULL), CC_E_ALREADY_PUNISHED);
    cc_exec_destroy (&exec);
    cc_tx_destroy (&first);
    cc_tx_destroy (&second);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

//  Signs a Vote whose validator field is validator (not necessarily key).
static void
s_vote_as (cc_keypair_t *key, const uint8_t *validator, const uint8_t *block_hash,
           Certchain__Signed *envelope)
{
    Certchain__Vote vote = CERTCHAIN__VOTE__INIT;
    vote.type = CERTCHAIN__VOTE_TYPE__PRECOMMIT;
    vote.height = 3;
    vote.round = 0;
    vote.block_hash = cc_bytes_view (block_hash, CC_HASH_SIZE);
    vote.validator = cc_bytes_view (validator, CC_PUBKEY_SIZE);
    ck_assert_int_eq (cc_signed_make (key, CC_DOMAIN_VOTE, FIXTURE_CHAIN, &vote.base,
                                      envelope), 0);
}

//  Evidence of votes a and b (released here), refused with INVALID_EVIDENCE.
static void
s_invalid_evidence (s_world_t *w, cc_keypair_t *signer, Certchain__Signed *a,
                    Certchain__Signed *b)
{
    cc_tx_t *tx = fixture_evidence_of (signer, a, b, 0, 1);
    cc_signed_clear (a);
    cc_signed_clear (b);
    s_refused (w, tx, CC_E_INVALID_EVIDENCE);
}

START_TEST (test_evidence_invalid)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 2, 1, 1000));
    cc_keypair_t *offender = k.validator [0];
    cc_keypair_t *signer = k.account [0];
    uint8_t hash_a [CC_HASH_SIZE], hash_b [CC_HASH_SIZE];
    cc_hash ("a", 1, hash_a);
    cc_hash ("b", 1, hash_b);
    Certchain__Signed a, b;
    Certchain__VoteType pre = CERTCHAIN__VOTE_TYPE__PREVOTE;
    Certchain__VoteType commit = CERTCHAIN__VOTE_TYPE__PRECOMMIT;

    //  The same block hash twice: no conflict (also nil and nil).
    fixture_vote (offender, commit, 3, 0, hash_a, &a);
    fixture_vote (offender, commit, 3, 0, hash_a, &b);
    s_invalid_evidence (w, signer, &a, &b);
    fixture_vote (offender, pre, 3, 0, NULL, &a);
    fixture_vote (offender, pre, 3, 0, NULL, &b);
    s_invalid_evidence (w, signer, &a, &b);
    //  Different heights, rounds, types.
    fixture_vote (offender, commit, 3, 0, hash_a, &a);
    fixture_vote (offender, commit, 4, 0, hash_b, &b);
    s_invalid_evidence (w, signer, &a, &b);
    fixture_vote (offender, commit, 3, 0, hash_a, &a);
    fixture_vote (offender, commit, 3, 1, hash_b, &b);
    s_invalid_evidence (w, signer, &a, &b);
    fixture_vote (offender, pre, 3, 0, hash_a, &a);
    fixture_vote (offender, commit, 3, 0, hash_b, &b);
    s_invalid_evidence (w, signer, &a, &b);
    //  No vote type.
    fixture_vote (offender, CERTCHAIN__VOTE_TYPE__VOTE_TYPE_UNKNOWN, 3, 0, hash_a, &a);
    fixture_vote (offender, CERTCHAIN__VOTE_TYPE__VOTE_TYPE_UNKNOWN, 3, 0, hash_b, &b);
    s_invalid_evidence (w, signer, &a, &b);
    //  A bad signature on either vote.
    fixture_vote (offender, commit, 3, 0, hash_a, &a);
    fixture_vote (offender, commit, 3, 0, hash_b, &b);
    b.signature.data [3] ^= 0x10;
    s_invalid_evidence (w, signer, &a, &b);
    fixture_vote (offender, commit, 3, 0, hash_a, &a);
    fixture_vote (offender, commit, 3, 0, hash_b, &b);
    a.signature.data [60] ^= 0x01;
    s_invalid_evidence (w, signer, &a, &b);
    //  Signed for another domain (a proposal signature reused).
    fixture_vote (offender, commit, 3, 0, hash_a, &a);
    fixture_vote (offender, commit, 3, 0, hash_b, &b);
    cc_keypair_sign (offender, CC_DOMAIN_PROPOSAL, FIXTURE_CHAIN, b.body.data, b.body.len,
                     b.signature.data);
    s_invalid_evidence (w, signer, &a, &b);
    //  Votes by two different keys.
    fixture_vote (offender, commit, 3, 0, hash_a, &a);
    fixture_vote (k.validator [1], commit, 3, 0, hash_b, &b);
    s_invalid_evidence (w, signer, &a, &b);
    //  Signed by one key in the name of another validator.
    s_vote_as (k.validator [1], PUB (offender), hash_a, &a);
    s_vote_as (k.validator [1], PUB (offender), hash_b, &b);
    s_invalid_evidence (w, signer, &a, &b);
    //  The same votes, made right, are accepted.
    fixture_vote (offender, commit, 3, 0, hash_a, &a);
    fixture_vote (offender, commit, 3, 0, NULL, &b);
    cc_tx_t *tx = fixture_evidence_of (signer, &a, &b, 0, 1);
    cc_signed_clear (&a);
    cc_signed_clear (&b);
    s_block1 (w, tx);
    ck_assert_int_eq (s_status (w, PUB (offender)), CERTCHAIN__VALIDATOR_STATUS__BANNED);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_evidence_offender_rules)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (2, 2, 1, 1000));
    //  By the offender itself.
    s_refused (w, fixture_evidence (k.validator [0], k.validator [0], 3, 0, 0, 1),
               CC_E_SELF_EVIDENCE);
    //  Against a key with no certificate, and against a genesis CA.
    s_refused (w, fixture_evidence (k.account [0], k.outsider [0], 3, 0, 0, 1),
               CC_E_UNKNOWN_NODE);
    s_refused (w, fixture_evidence (k.account [0], k.ca [1], 3, 0, 0, 1), CC_E_UNKNOWN_NODE);
    //  A revoked node can still be banned.
    s_block1 (w, fixture_revoke (k.ca [0], PUB (k.validator [1]), "audit", 0, 1));
    s_block1 (w, fixture_evidence (k.validator [0], k.validator [1], 1, 0, 0, 1));
    ck_assert_int_eq (s_status (w, PUB (k.validator [1])), CERTCHAIN__VALIDATOR_STATUS__BANNED);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

//  --- Expiry and jailing ----------------------------------------------------------------

START_TEST (test_expiry)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 0, 0, 0));
    const uint8_t *node = PUB (k.outsider [0]);
    s_block1 (w, fixture_certify (k.ca [0], node, 6, 0, 1));
    Certchain__ValidatorRecord *before = NULL, *after = NULL;
    ck_assert_int_eq (cc_state_validator (w->state, node, &before), 0);
    while (cc_state_height (w->state) < 8)
        s_block (w, NULL, 0);
    for (uint64_t height = 1; height <= 9; height++)
        ck_assert_msg (s_in_valset (w, height, node) == (height >= 2 && height < 6),
                       "height %" PRIu64, height);
    //  The record itself never changed: expiry needs no write.
    ck_assert_int_eq (cc_state_validator (w->state, node, &after), 0);
    ck_assert_int_eq (after->status, CERTCHAIN__VALIDATOR_STATUS__ACTIVE);
    ck_assert_uint_eq (after->status_height, before->status_height);
    ck_assert_uint_eq (after->valid_until, 6);
    certchain__validator_record__free_unpacked (before, NULL);
    certchain__validator_record__free_unpacked (after, NULL);
    //  Not active any more: nothing to revoke or resign.
    s_refused (w, fixture_revoke (k.ca [0], node, "late", 0, 2), CC_E_NOT_ACTIVE);
    s_refused (w, fixture_resign (k.outsider [0], 0, 1), CC_E_NOT_ACTIVE);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_jailing_boundary)
{
    //  K = 3. Validator 0 signs every commit; validator 1 never signs;
    //  validator 2 signs the commits of heights 1..4, then stops.
    s_keys_t k;
    s_keys_new (&k);
    cc_genesis_t *genesis = s_genesis (1, 3, 0, 0);
    cc_genesis_params (genesis)->jail_after = 3;
    s_world_t *w = s_world_new (genesis);
    uint8_t signers [3 * CC_PUBKEY_SIZE];
    for (uint64_t height = 1; height <= 9; height++) {
        //  Block h carries the commit of h - 1 (none in block 1).
        size_t count = 0;
        if (height >= 2) {
            memcpy (signers + count++ * CC_PUBKEY_SIZE, PUB (k.ca [0]), CC_PUBKEY_SIZE);
            memcpy (signers + count++ * CC_PUBKEY_SIZE, PUB (k.validator [0]), CC_PUBKEY_SIZE);
            if (height - 1 <= 4)
                memcpy (signers + count++ * CC_PUBKEY_SIZE, PUB (k.validator [2]),
                        CC_PUBKEY_SIZE);
        }
        s_block_signed (w, NULL, 0, signers, count, NULL);
        //  Validator 1 missed the commits of 1, 2, 3: known in block 4.
        ck_assert_msg (s_in_valset (w, height + 1, PUB (k.validator [1])) == (height < 4),
                       "validator 1 after block %" PRIu64, height);
        //  Validator 2 signed 4 (in block 5), missed 5, 6, 7: block 8.
        ck_assert_msg (s_in_valset (w, height + 1, PUB (k.validator [2])) == (height < 8),
                       "validator 2 after block %" PRIu64, height);
        ck_assert (s_in_valset (w, height + 1, PUB (k.validator [0])));
        ck_assert (s_in_valset (w, height + 1, PUB (k.ca [0])));
    }
    Certchain__ValidatorRecord *record = NULL;
    ck_assert_int_eq (cc_state_validator (w->state, PUB (k.validator [1]), &record), 0);
    ck_assert_int_eq (record->status, CERTCHAIN__VALIDATOR_STATUS__JAILED);
    ck_assert_uint_eq (record->status_height, 4);
    ck_assert_str_eq (record->reason, "absent from the last 3 commits");
    certchain__validator_record__free_unpacked (record, NULL);
    ck_assert_int_eq (cc_state_validator (w->state, PUB (k.validator [2]), &record), 0);
    ck_assert_int_eq (record->status, CERTCHAIN__VALIDATOR_STATUS__JAILED);
    ck_assert_uint_eq (record->status_height, 8);
    ck_assert_uint_eq (record->last_signed_height, 4);
    certchain__validator_record__free_unpacked (record, NULL);
    ck_assert_int_eq (cc_state_validator (w->state, PUB (k.validator [0]), &record), 0);
    ck_assert_int_eq (record->status, CERTCHAIN__VALIDATOR_STATUS__ACTIVE);
    ck_assert_uint_eq (record->last_signed_height, 8);
    certchain__validator_record__free_unpacked (record, NULL);
    //  A jailed node re-joins through a new Certify.
    s_block1 (w, fixture_certify (k.ca [0], PUB (k.validator [1]), 100, 0, 1));  //  block 10
    ck_assert (s_in_valset (w, 11, PUB (k.validator [1])));
    //  Its clock restarts at since_height 11: not jailed before block 14.
    ck_assert_int_eq (cc_state_validator (w->state, PUB (k.validator [1]), &record), 0);
    ck_assert_uint_eq (record->since_height, 11);
    certchain__validator_record__free_unpacked (record, NULL);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

//  --- App hash ----------------------------------------------------------------------

//  The transactions of block `height` of a small scripted chain; variant
//  changes one thing in block 2 (0 = none, 1 = another amount, 2 = an
//  extra tx, 3 = two txs swapped whose order matters).
static size_t
s_script (s_keys_t *k, uint64_t height, int variant, cc_tx_t **txs)
{
    size_t count = 0;
    switch (height) {
        case 1:
            txs [count++] = fixture_transfer (k->account [0], PUB (k->account [1]), 10, 1, 1);
            txs [count++] = fixture_transfer (k->account [1], PUB (k->outsider [0]), 20, 2, 1);
            txs [count++] = fixture_certify (k->ca [0], PUB (k->outsider [1]), 50, 0, 1);
            break;
        case 2:
            if (variant == 3) {
                txs [count++] = fixture_certify (k->ca [1], PUB (k->outsider [1]), 60, 0, 1);
                txs [count++] = fixture_revoke (k->ca [0], PUB (k->outsider [1]), "x", 0, 2);
            }
            else {
                txs [count++] = fixture_revoke (k->ca [0], PUB (k->outsider [1]), "x", 0, 2);
                txs [count++] = fixture_certify (k->ca [1], PUB (k->outsider [1]), 60, 0, 1);
            }
            txs [count++] = fixture_transfer (k->account [0], PUB (k->account [2]),
                                              variant == 1 ? 6 : 5, 0, 2);
            if (variant == 2)
                txs [count++] = fixture_transfer (k->account [2], PUB (k->account [0]), 1, 0, 1);
            break;
        default:
            txs [count++] = fixture_transfer (k->account [2], PUB (k->account [1]), 3, 1,
                                              variant == 2 ? 2 : 1);
            break;
    }
    return count;
}

//  Runs the script for 3 blocks in a fresh world; app hashes 0..3 into hashes.
static void
s_run_script (int variant, uint8_t hashes [4][CC_HASH_SIZE])
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (2, 1, 3, 1000));
    memcpy (hashes [0], cc_state_app_hash (w->state), CC_HASH_SIZE);
    for (uint64_t height = 1; height <= 3; height++) {
        cc_tx_t *txs [8];
        size_t count = s_script (&k, height, variant, txs);
        s_block (w, txs, count);
        memcpy (hashes [height], cc_state_app_hash (w->state), CC_HASH_SIZE);
    }
    s_world_destroy (&w);
    s_keys_destroy (&k);
}

START_TEST (test_app_hash_deterministic)
{
    uint8_t first [4][CC_HASH_SIZE], second [4][CC_HASH_SIZE];
    s_run_script (0, first);
    s_run_script (0, second);
    for (int height = 0; height < 4; height++)
        ck_assert_mem_eq (first [height], second [height], CC_HASH_SIZE);
    //  Every block changes the hash.
    for (int height = 1; height < 4; height++)
        ck_assert (memcmp (first [height], first [height - 1], CC_HASH_SIZE) != 0);
    //  Each variant differs from block 2 on, and is identical before.
    for (int variant = 1; variant <= 3; variant++) {
        s_run_script (variant, second);
        ck_assert_mem_eq (first [1], second [1], CC_HASH_SIZE);
        ck_assert_msg (memcmp (first [2], second [2], CC_HASH_SIZE) != 0, "variant %d", variant);
        ck_assert (memcmp (first [3], second [3], CC_HASH_SIZE) != 0);
    }
}
END_TEST

START_TEST (test_app_hash_commuting_order)
{
    //  W is the block's writes, not its transaction list: two transfers
    //  that commute give the same state and the same app hash in either
    //  order (the order itself is covered by the header's tx root).
    s_keys_t k;
    s_keys_new (&k);
    uint8_t hashes [2][CC_HASH_SIZE];
    for (int order = 0; order < 2; order++) {
        s_world_t *w = s_world_new (s_genesis (1, 0, 2, 1000));
        cc_tx_t *txs [2];
        txs [order] = fixture_transfer (k.account [0], PUB (k.outsider [0]), 10, 1, 1);
        txs [1 - order] = fixture_transfer (k.account [1], PUB (k.outsider [1]), 20, 2, 1);
        s_block_signed (w, txs, 2, NULL, 0, hashes [order]);
        s_world_destroy (&w);
    }
    ck_assert_mem_eq (hashes [0], hashes [1], CC_HASH_SIZE);
    s_keys_destroy (&k);
}
END_TEST

//  Appends one (key, value) pair in W's encoding.
static size_t
s_encode_pair (uint8_t *out, const uint8_t *key, size_t key_size, const uint8_t *value,
               size_t value_size)
{
    size_t size = 0;
    out [size++] = (uint8_t) (key_size >> 24);
    out [size++] = (uint8_t) (key_size >> 16);
    out [size++] = (uint8_t) (key_size >> 8);
    out [size++] = (uint8_t) key_size;
    memcpy (out + size, key, key_size);
    size += key_size;
    out [size++] = (uint8_t) (value_size >> 24);
    out [size++] = (uint8_t) (value_size >> 16);
    out [size++] = (uint8_t) (value_size >> 8);
    out [size++] = (uint8_t) value_size;
    memcpy (out + size, value, value_size);
    return size + value_size;
}

//  Encodes the pair ("a" + address, Account{balance, nonce}).
static size_t
s_encode_account (uint8_t *out, const uint8_t *address, uint64_t balance, uint64_t nonce)
{
    uint8_t key [33], value [32];
    key [0] = 'a';
    memcpy (key + 1, address, 32);
    Certchain__Account account = CERTCHAIN__ACCOUNT__INIT;
    account.balance = balance;
    account.nonce = nonce;
    size_t value_size = certchain__account__pack (&account, value);
    return s_encode_pair (out, key, 33, value, value_size);
}

static int
s_compare_keys (const void *a, const void *b)
{
    return memcmp (a, b, CC_PUBKEY_SIZE);
}

START_TEST (test_app_hash_formula)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 0, 1, 1000));
    //  Genesis: W0 = [("a" + A, {1000, 0}), ("s" + BE(1), CA pubkey)].
    uint8_t buffer [1024];
    size_t size = s_encode_account (buffer, PUB (k.account [0]), 1000, 0);
    uint8_t key [9] = {'s', 0, 0, 0, 0, 0, 0, 0, 1};
    size += s_encode_pair (buffer + size, key, 9, PUB (k.ca [0]), 32);
    uint8_t zero [CC_HASH_SIZE] = {0}, writes [CC_HASH_SIZE], expected [CC_HASH_SIZE];
    cc_hash (buffer, size, writes);
    cc_hash2 (zero, CC_HASH_SIZE, writes, CC_HASH_SIZE, expected);
    ck_assert_mem_eq (cc_state_app_hash (w->state), expected, CC_HASH_SIZE);

    //  Block 1: A pays 10 to B with fee 1 to proposer P: three accounts,
    //  sorted by address; V(2) = V(1), so no snapshot.
    uint8_t previous [CC_HASH_SIZE];
    memcpy (previous, expected, CC_HASH_SIZE);
    s_block1 (w, fixture_transfer (k.account [0], PUB (k.outsider [0]), 10, 1, 1));
    uint8_t addresses [3][CC_PUBKEY_SIZE];
    memcpy (addresses [0], PUB (k.account [0]), 32);
    memcpy (addresses [1], PUB (k.outsider [0]), 32);
    memcpy (addresses [2], w->proposer, 32);
    qsort (addresses, 3, CC_PUBKEY_SIZE, s_compare_keys);
    size = 0;
    for (int index = 0; index < 3; index++) {
        const uint8_t *address = addresses [index];
        uint64_t balance = memcmp (address, PUB (k.account [0]), 32) == 0 ? 989
                           : memcmp (address, w->proposer, 32) == 0   ? 1
                                                                      : 10;
        uint64_t nonce = memcmp (address, PUB (k.account [0]), 32) == 0 ? 1 : 0;
        size += s_encode_account (buffer + size, address, balance, nonce);
    }
    cc_hash (buffer, size, writes);
    cc_hash2 (previous, CC_HASH_SIZE, writes, CC_HASH_SIZE, expected);
    ck_assert_mem_eq (cc_state_app_hash (w->state), expected, CC_HASH_SIZE);

    //  An empty block writes nothing: H(previous || H("")).
    memcpy (previous, expected, CC_HASH_SIZE);
    s_block (w, NULL, 0);
    cc_hash (buffer, 0, writes);
    cc_hash2 (previous, CC_HASH_SIZE, writes, CC_HASH_SIZE, expected);
    ck_assert_mem_eq (cc_state_app_hash (w->state), expected, CC_HASH_SIZE);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

//  --- Reopening and history -----------------------------------------------------------

START_TEST (test_reopen)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (2, 2, 2, 1000));
    s_block1 (w, fixture_transfer (k.account [0], PUB (k.account [1]), 10, 1, 1));
    s_block1 (w, fixture_certify (k.ca [0], PUB (k.outsider [0]), 50, 0, 1));
    s_block1 (w, fixture_revoke (k.ca [1], PUB (k.validator [0]), "bye", 0, 1));
    uint8_t app_hash [CC_HASH_SIZE];
    memcpy (app_hash, cc_state_app_hash (w->state), CC_HASH_SIZE);
    cc_valset_t *sets [5];
    for (uint64_t height = 1; height <= 4; height++)
        sets [height] = cc_state_valset (w->state, height);
    s_world_close (w);

    s_world_open (w);
    ck_assert_uint_eq (cc_state_height (w->state), 3);
    ck_assert_mem_eq (cc_state_app_hash (w->state), app_hash, CC_HASH_SIZE);
    ck_assert_uint_eq (s_balance (w, PUB (k.account [0])), 989);
    ck_assert_uint_eq (s_nonce (w, PUB (k.account [0])), 1);
    ck_assert_uint_eq (s_balance (w, PUB (k.account [1])), 1010);
    ck_assert_uint_eq (s_balance (w, w->proposer), 1);
    for (uint64_t height = 1; height <= 4; height++) {
        cc_valset_t *valset = cc_state_valset (w->state, height);
        ck_assert (cc_valset_equal (valset, sets [height]));
        for (size_t index = 0; index < cc_valset_size (valset); index++)
            ck_assert (cc_valset_member_is_ca (valset, index)
                       == cc_genesis_is_ca (w->genesis, cc_valset_member (valset, index)));
        cc_valset_destroy (&valset);
        cc_valset_destroy (&sets [height]);
    }
    ck_assert_int_eq (s_status (w, PUB (k.validator [0])), CERTCHAIN__VALIDATOR_STATUS__REVOKED);
    //  The chain goes on from there as it would have.
    s_block1 (w, fixture_transfer (k.account [0], PUB (k.account [1]), 10, 1, 2));
    ck_assert_uint_eq (s_balance (w, PUB (k.account [1])), 1020);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_reopen_other_genesis)
{
    s_world_t *w = s_world_new (s_genesis (1, 0, 1, 1000));
    s_block (w, NULL, 0);
    s_world_close (w);
    cc_genesis_t *other = s_genesis (1, 0, 1, 999);
    cc_reason_t reason;
    w->store = cc_store_open (w->dir, s_families, 0, &reason);
    ck_assert_ptr_nonnull (w->store);
    cc_reason_clear (&reason);
    ck_assert_ptr_null (cc_state_new (w->store, other, &reason));
    ck_assert_int_eq (reason.code, CC_E_CONFIG);
    cc_genesis_destroy (&other);
    //  A store without the state family is refused too.
    cc_store_destroy (&w->store);
    const char *const none [] = {NULL};
    char *dir = fixture_tempdir ("state-nofamily");
    cc_store_t *store = cc_store_open (dir, none, 0, &reason);
    ck_assert_ptr_nonnull (store);
    ck_assert_ptr_null (cc_state_new (store, w->genesis, &reason));
    ck_assert_int_eq (reason.code, CC_E_CONFIG);
    cc_store_destroy (&store);
    fixture_rmtree (dir);
    free (dir);
    //  The right genesis still opens it.
    s_world_open (w);
    ck_assert_uint_eq (cc_state_height (w->state), 1);
    s_world_destroy (&w);
}
END_TEST

START_TEST (test_valset_history)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 2, 0, 0));
    cc_valset_t *expected [12] = {NULL};
    expected [1] = cc_state_valset (w->state, 1);
    ck_assert_uint_eq (cc_valset_size (expected [1]), 3);
    ck_assert_ptr_null (cc_state_valset (w->state, 0));
    ck_assert_ptr_null (cc_state_valset (w->state, 2));
    uint64_t nonce = 0;
    for (uint64_t height = 1; height <= 10; height++) {
        cc_tx_t *tx = NULL;
        if (height == 2)
            tx = fixture_certify (k.ca [0], PUB (k.outsider [0]), 7, 0, ++nonce);
        if (height == 3)
            tx = fixture_certify (k.ca [0], PUB (k.outsider [1]), 100, 0, ++nonce);
        if (height == 5)
            tx = fixture_revoke (k.ca [0], PUB (k.validator [0]), "x", 0, ++nonce);
        if (height == 8)
            tx = fixture_resign (k.outsider [1], 0, 1);
        s_block (w, tx ? &tx : NULL, tx ? 1 : 0);
        expected [height + 1] = cc_state_valset (w->state, height + 1);
    }
    //  Sizes: 3 at 1, a member more at 3 and 4, revoked at 6, expired at
    //  7, resigned at 9.
    size_t sizes [12] = {0, 3, 3, 4, 5, 5, 4, 3, 3, 2, 2, 2};
    for (uint64_t height = 1; height <= 11; height++) {
        cc_valset_t *valset = cc_state_valset (w->state, height);
        ck_assert_msg (cc_valset_size (valset) == sizes [height], "height %" PRIu64 ": %zu",
                       height, cc_valset_size (valset));
        ck_assert (cc_valset_equal (valset, expected [height]));
        cc_valset_destroy (&valset);
    }
    s_world_close (w);
    s_world_open (w);
    for (uint64_t height = 1; height <= 11; height++) {
        cc_valset_t *valset = cc_state_valset (w->state, height);
        ck_assert (cc_valset_equal (valset, expected [height]));
        cc_valset_destroy (&valset);
        cc_valset_destroy (&expected [height]);
    }
    ck_assert_ptr_null (cc_state_valset (w->state, 12));
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

START_TEST (test_many_accounts)
{
    //  Enough accounts in one block to grow the pending table several
    //  times; each pays its neighbour i + 1 and a fee of 1.
    size_t count = S_MANY;
    s_world_t *w = s_world_new (s_genesis (1, 0, count, 1000));
    cc_keypair_t **keys = (cc_keypair_t **) calloc (count, sizeof (cc_keypair_t *));
    cc_tx_t **txs = (cc_tx_t **) calloc (count, sizeof (cc_tx_t *));
    for (size_t index = 0; index < count; index++)
        keys [index] = fixture_keypair (FIXTURE_ACCOUNT (index));
    for (size_t index = 0; index < count; index++)
        txs [index] = fixture_transfer (keys [index], PUB (keys [(index + 1) % count]),
                                        index + 1, 1, 1);
    s_block (w, txs, count);
    ck_assert_uint_eq (s_balance (w, PUB (keys [0])), 1000 - 2 + count);
    for (size_t index = 1; index < count; index++) {
        ck_assert_uint_eq (s_balance (w, PUB (keys [index])), 1000 - 2);
        ck_assert_uint_eq (s_nonce (w, PUB (keys [index])), 1);
    }
    ck_assert_uint_eq (s_balance (w, w->proposer), count);
    for (size_t index = 0; index < count; index++)
        cc_keypair_destroy (&keys [index]);
    free (keys);
    free (txs);
    s_world_destroy (&w);
}
END_TEST

START_TEST (test_exec_misuse)
{
    s_keys_t k;
    s_keys_new (&k);
    s_world_t *w = s_world_new (s_genesis (1, 0, 1, 1000));
    cc_exec_t *exec = cc_exec_new (w->state, 1, w->proposer);
    cc_batch_t *batch = cc_store_batch (w->store);
    ck_assert_int_eq (cc_exec_write (exec, batch), CC_E_INVALID_ARG);
    ck_assert_int_eq (cc_exec_finish (exec, NULL), 0);
    ck_assert_int_eq (cc_exec_finish (exec, NULL), CC_E_INVALID_ARG);
    cc_tx_t *tx = fixture_transfer (k.account [0], PUB (k.account [0]), 1, 0, 1);
    ck_assert_int_eq (cc_exec_apply (exec, tx, NULL), CC_E_INVALID_ARG);
    cc_tx_destroy (&tx);
    cc_batch_destroy (&batch);
    cc_exec_destroy (&exec);
    cc_exec_destroy (&exec);
    s_world_destroy (&w);
    s_keys_destroy (&k);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("state");
    TCase *tcase = tcase_create ("rules");
    tcase_set_timeout (tcase, 60);
    tcase_add_test (tcase, test_transfer_ok);
    tcase_add_test (tcase, test_transfer_bad_signature);
    tcase_add_test (tcase, test_transfer_wrong_chain);
    tcase_add_test (tcase, test_transfer_nonces);
    tcase_add_test (tcase, test_transfer_balance);
    tcase_add_test (tcase, test_transfer_overflow);
    tcase_add_test (tcase, test_certify_and_revoke_by_non_ca);
    tcase_add_test (tcase, test_certify_ok);
    tcase_add_test (tcase, test_revoke);
    tcase_add_test (tcase, test_certify_validity);
    tcase_add_test (tcase, test_certify_renewal);
    tcase_add_test (tcase, test_renewal_at_last_height);
    tcase_add_test (tcase, test_valset_full);
    tcase_add_test (tcase, test_resign);
    tcase_add_test (tcase, test_evidence_ok);
    tcase_add_test (tcase, test_evidence_invalid);
    tcase_add_test (tcase, test_evidence_offender_rules);
    tcase_add_test (tcase, test_expiry);
    tcase_add_test (tcase, test_jailing_boundary);
    tcase_add_test (tcase, test_app_hash_deterministic);
    tcase_add_test (tcase, test_app_hash_commuting_order);
    tcase_add_test (tcase, test_app_hash_formula);
    tcase_add_test (tcase, test_reopen);
    tcase_add_test (tcase, test_reopen_other_genesis);
    tcase_add_test (tcase, test_valset_history);
    tcase_add_test (tcase, test_many_accounts);
    tcase_add_test (tcase, test_exec_misuse);
    suite_add_tcase (suite, tcase);
    return suite;
}

int
main (void)
{
    return fixture_run (s_suite ());
}
