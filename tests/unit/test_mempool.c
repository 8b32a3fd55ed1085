/*  =========================================================================
    test_mempool - admission rules, the one signature check, eviction by fee
    without gaps, packing order and limits, updates after a commit, and a
    small admission benchmark (printed, not asserted)
    =========================================================================
*/

#include "fixture.h"
#include "mempool.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Under valgrind the benchmark shrinks (signature checks are ~40x slower).
#if defined(__has_include)
#    if __has_include(<valgrind/valgrind.h>)
#        include <valgrind/valgrind.h>
#        define S_UNDER_VALGRIND (RUNNING_ON_VALGRIND != 0)
#    endif
#endif
#ifndef S_UNDER_VALGRIND
#    define S_UNDER_VALGRIND false
#endif

#define S_SIGNERS 16

//  Committed nonces as the state would give them.
typedef struct {
    uint8_t keys [S_SIGNERS][CC_PUBKEY_SIZE];   //  known signers
    uint64_t nonces [S_SIGNERS];                //  their committed nonces
    size_t count;                               //  signers known
    size_t calls;                               //  lookups made
} s_nonces_t;

static uint64_t
s_nonce_of (void *argument, const uint8_t *signer)
{
    s_nonces_t *nonces = (s_nonces_t *) argument;
    nonces->calls++;
    for (size_t index = 0; index < nonces->count; index++)
        if (memcmp (nonces->keys [index], signer, CC_PUBKEY_SIZE) == 0)
            return nonces->nonces [index];
    return 0;
}

static void
s_nonce_set (s_nonces_t *nonces, cc_keypair_t *key, uint64_t nonce)
{
    for (size_t index = 0; index < nonces->count; index++)
        if (memcmp (nonces->keys [index], cc_keypair_public (key), CC_PUBKEY_SIZE) == 0) {
            nonces->nonces [index] = nonce;
            return;
        }
    ck_assert_uint_lt (nonces->count, S_SIGNERS);
    memcpy (nonces->keys [nonces->count], cc_keypair_public (key), CC_PUBKEY_SIZE);
    nonces->nonces [nonces->count++] = nonce;
}

//  A signed transfer body for chain, opened (cc_tx_new trusts itself).
static cc_tx_t *
s_transfer_opened (cc_keypair_t *key, const char *chain, uint64_t nonce, uint64_t fee,
                   uint64_t amount)
{
    uint8_t to [CC_PUBKEY_SIZE];
    memset (to, 0x42, sizeof (to));
    Certchain__Transfer transfer = CERTCHAIN__TRANSFER__INIT;
    transfer.to = cc_bytes_view (to, sizeof (to));
    transfer.amount = amount;
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = nonce;
    body.fee = fee;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER;
    body.transfer = &transfer;
    cc_tx_t *tx = cc_tx_new (key, chain, &body);
    ck_assert_ptr_nonnull (tx);
    return tx;
}

//  The same tx as a validator receives it: decoded, not opened.
static cc_tx_t *
s_received (cc_tx_t *tx)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_tx_encode (tx, &data, &size), 0);
    cc_reason_t reason;
    cc_tx_t *copy = cc_tx_decode (data, size, &reason);
    free (data);
    ck_assert_ptr_nonnull (copy);
    ck_assert (!cc_tx_is_open (copy));
    return copy;
}

//  A received transfer on FIXTURE_CHAIN.
static cc_tx_t *
s_tx_amount (cc_keypair_t *key, uint64_t nonce, uint64_t fee, uint64_t amount)
{
    cc_tx_t *opened = s_transfer_opened (key, FIXTURE_CHAIN, nonce, fee, amount);
    cc_tx_t *tx = s_received (opened);
    cc_tx_destroy (&opened);
    return tx;
}

static cc_tx_t *
s_tx (cc_keypair_t *key, uint64_t nonce, uint64_t fee)
{
    return s_tx_amount (key, nonce, fee, 1);
}

//  The same body with one signature bit flipped, not opened.
static cc_tx_t *
s_corrupted (cc_tx_t *tx)
{
    Certchain__Signed envelope;
    ck_assert_int_eq (cc_signed_copy (cc_tx_envelope (tx), &envelope), 0);
    envelope.signature.data [7] ^= 0x10;
    cc_reason_t reason;
    cc_tx_t *copy = cc_tx_from_envelope (&envelope, &reason);
    cc_signed_clear (&envelope);
    ck_assert_ptr_nonnull (copy);
    ck_assert_mem_eq (cc_tx_hash (copy), cc_tx_hash (tx), CC_HASH_SIZE);
    return copy;
}

//  A tx signed for FIXTURE_CHAIN whose body is built by the caller.
static cc_tx_t *
s_signed_body (cc_keypair_t *key, Certchain__TxBody *body)
{
    body->signer = cc_bytes_view (cc_keypair_public (key), CC_PUBKEY_SIZE);
    Certchain__Signed envelope;
    ck_assert_int_eq (cc_signed_make (key, CC_DOMAIN_TX, FIXTURE_CHAIN, &body->base, &envelope),
                      0);
    cc_reason_t reason;
    cc_tx_t *tx = cc_tx_from_envelope (&envelope, &reason);
    cc_signed_clear (&envelope);
    ck_assert_ptr_nonnull (tx);
    return tx;
}

//  Adds tx expecting success; the pool takes it.
static void
s_add_ok (cc_mempool_t *pool, cc_tx_t *tx)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_mempool_add (pool, &tx, &reason);
    ck_assert_msg (rc == 0, "refused: %s", cc_reason_text (&reason));
    ck_assert_ptr_null (tx);
}

//  Adds tx expecting refusal with code; the caller's tx is destroyed.
static void
s_add_refused (cc_mempool_t *pool, cc_tx_t *tx, int code)
{
    cc_reason_t reason;
    cc_reason_clear (&reason);
    int rc = cc_mempool_add (pool, &tx, &reason);
    ck_assert_msg (rc == code, "expected %s, got %s (%s)", cc_error_name (code),
                   cc_error_name (rc), cc_reason_text (&reason));
    ck_assert_int_eq (reason.code, code);
    ck_assert_ptr_nonnull (tx);             //  still the caller's
    cc_tx_destroy (&tx);
}

static uint64_t
s_refused (cc_mempool_t *pool, int code)
{
    cc_mempool_stats_t stats;
    cc_mempool_stats (pool, &stats);
    return stats.refused_by_code [-code];
}

static cc_mempool_stats_t
s_stats (cc_mempool_t *pool)
{
    cc_mempool_stats_t stats;
    cc_mempool_stats (pool, &stats);
    return stats;
}

//  --- Transactions from unpacked envelopes ----------------------------------------

//  Adopting an unpacked envelope takes its bytes and gives the tx that
//  decoding gives; a refused envelope keeps them.
START_TEST (test_adopt_envelope)
{
    cc_keypair_t *alice = fixture_keypair (1);
    cc_tx_t *tx = s_tx (alice, 1, 10);
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (cc_tx_encode (tx, &data, &size), 0);
    Certchain__Signed *envelope = (Certchain__Signed *) cc_codec_unpack (
        &certchain__signed__descriptor, data, size, CC_TX_MAX_SIZE, NULL);
    ck_assert_ptr_nonnull (envelope);
    cc_reason_t reason;
    cc_tx_t *adopted = cc_tx_adopt_envelope (envelope, &reason);
    ck_assert_ptr_nonnull (adopted);
    ck_assert_mem_eq (cc_tx_hash (adopted), cc_tx_hash (tx), CC_HASH_SIZE);
    ck_assert_uint_eq (cc_tx_size (adopted), cc_tx_size (tx));
    ck_assert_ptr_null (envelope->body.data);
    ck_assert_ptr_null (envelope->signature.data);
    ck_assert_ptr_null (envelope->signer.data);
    ck_assert_int_eq (cc_tx_open (adopted, FIXTURE_CHAIN, false, &reason), 0);
    certchain__signed__free_unpacked (envelope, NULL);
    cc_tx_destroy (&adopted);

    //  A short signer: BAD_FIELD, and the envelope still holds its bytes.
    envelope = (Certchain__Signed *) cc_codec_unpack (&certchain__signed__descriptor, data, size,
                                                      CC_TX_MAX_SIZE, NULL);
    envelope->signer.len = CC_PUBKEY_SIZE - 1;
    ck_assert_ptr_null (cc_tx_adopt_envelope (envelope, &reason));
    ck_assert_int_eq (reason.code, CC_E_BAD_FIELD);
    ck_assert_ptr_nonnull (envelope->body.data);
    ck_assert_ptr_nonnull (envelope->signer.data);
    certchain__signed__free_unpacked (envelope, NULL);
    ck_assert_ptr_null (cc_tx_adopt_envelope (NULL, &reason));
    ck_assert_int_eq (reason.code, CC_E_MALFORMED);
    free (data);
    cc_tx_destroy (&tx);
    cc_keypair_destroy (&alice);
}
END_TEST

//  --- Admission -----------------------------------------------------------------

START_TEST (test_admit)
{
    cc_keypair_t *alice = fixture_keypair (1);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 100, 1 << 20, NULL, NULL);
    ck_assert_ptr_nonnull (pool);
    cc_tx_t *tx = s_tx (alice, 1, 10);
    uint8_t hash [CC_HASH_SIZE];
    memcpy (hash, cc_tx_hash (tx), CC_HASH_SIZE);
    size_t size = cc_tx_size (tx);
    ck_assert (!cc_mempool_contains (pool, hash));

    s_add_ok (pool, tx);
    ck_assert_uint_eq (cc_mempool_size (pool), 1);
    ck_assert_uint_eq (cc_mempool_bytes (pool), size);
    ck_assert (cc_mempool_contains (pool, hash));
    cc_tx_t *pooled = cc_mempool_get (pool, hash);
    ck_assert_ptr_nonnull (pooled);
    ck_assert (cc_tx_is_open (pooled));
    ck_assert_uint_eq (cc_tx_nonce (pooled), 1);
    ck_assert_uint_eq (cc_tx_fee (pooled), 10);
    cc_mempool_stats_t stats = s_stats (pool);
    ck_assert_uint_eq (stats.admitted, 1);
    ck_assert_uint_eq (stats.refused, 0);
    ck_assert_uint_eq (stats.verifications, 1);

    //  A tx the caller opened itself (cc_tx_new) is trusted as opened.
    cc_tx_t *local = s_transfer_opened (alice, FIXTURE_CHAIN, 2, 10, 1);
    s_add_ok (pool, local);
    ck_assert_uint_eq (s_stats (pool).verifications, 1);
    ck_assert_uint_eq (cc_mempool_size (pool), 2);

    //  Caps of zero are refused.
    ck_assert_ptr_null (cc_mempool_new (FIXTURE_CHAIN, 0, 1000, NULL, NULL));
    ck_assert_ptr_null (cc_mempool_new (FIXTURE_CHAIN, 10, 0, NULL, NULL));

    cc_mempool_destroy (&pool);
    ck_assert_ptr_null (pool);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&alice);
}
END_TEST

START_TEST (test_bad_signature)
{
    cc_keypair_t *alice = fixture_keypair (1);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 100, 1 << 20, NULL, NULL);
    cc_tx_t *good = s_tx (alice, 1, 10);
    cc_tx_t *bad = s_corrupted (good);
    uint8_t hash [CC_HASH_SIZE];
    memcpy (hash, cc_tx_hash (good), CC_HASH_SIZE);

    s_add_refused (pool, bad, CC_E_BAD_SIGNATURE);
    ck_assert_uint_eq (cc_mempool_size (pool), 0);
    ck_assert_uint_eq (s_refused (pool, CC_E_BAD_SIGNATURE), 1);
    ck_assert_uint_eq (s_stats (pool).verifications, 1);
    ck_assert (!cc_mempool_signature_checked (pool, hash));

    //  The genuine one with the same body is still admitted.
    s_add_ok (pool, good);
    ck_assert (cc_mempool_contains (pool, hash));
    ck_assert_uint_eq (s_stats (pool).verifications, 2);

    //  A tx signed for another chain fails its signature here.
    cc_tx_t *opened = s_transfer_opened (alice, "another-chain", 2, 10, 1);
    s_add_refused (pool, s_received (opened), CC_E_BAD_SIGNATURE);
    cc_tx_destroy (&opened);
    ck_assert_uint_eq (s_refused (pool, CC_E_BAD_SIGNATURE), 2);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&alice);
}
END_TEST

START_TEST (test_wrong_chain_and_malformed)
{
    cc_keypair_t *alice = fixture_keypair (1);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 100, 1 << 20, NULL, NULL);
    uint8_t to [CC_PUBKEY_SIZE] = {1};
    Certchain__Transfer transfer = CERTCHAIN__TRANSFER__INIT;
    transfer.to = cc_bytes_view (to, sizeof (to));
    transfer.amount = 5;
    Certchain__TxBody body = CERTCHAIN__TX_BODY__INIT;
    body.nonce = 1;
    body.fee = 1;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER;
    body.transfer = &transfer;

    //  Signed correctly for this chain, but the body names another.
    body.chain_id = (char *) "another-chain";
    s_add_refused (pool, s_signed_body (alice, &body), CC_E_WRONG_CHAIN);
    ck_assert_uint_eq (s_refused (pool, CC_E_WRONG_CHAIN), 1);
    //  An already opened tx of another chain too.
    s_add_refused (pool, s_transfer_opened (alice, "another-chain", 1, 1, 1),
                   CC_E_WRONG_CHAIN);
    ck_assert_uint_eq (s_refused (pool, CC_E_WRONG_CHAIN), 2);

    //  No payload.
    body.chain_id = (char *) FIXTURE_CHAIN;
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD__NOT_SET;
    body.transfer = NULL;
    s_add_refused (pool, s_signed_body (alice, &body), CC_E_NO_PAYLOAD);

    //  A transfer to a key of the wrong size.
    body.payload_case = CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER;
    body.transfer = &transfer;
    transfer.to = cc_bytes_view (to, 5);
    s_add_refused (pool, s_signed_body (alice, &body), CC_E_BAD_FIELD);

    //  The same body, well formed, is admitted.
    transfer.to = cc_bytes_view (to, sizeof (to));
    s_add_ok (pool, s_signed_body (alice, &body));
    ck_assert_uint_eq (cc_mempool_size (pool), 1);
    ck_assert_uint_eq (s_stats (pool).refused, 4);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&alice);
}
END_TEST

START_TEST (test_duplicate)
{
    cc_keypair_t *alice = fixture_keypair (1);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 100, 1 << 20, NULL, NULL);
    cc_tx_t *tx = s_tx (alice, 1, 10);
    cc_tx_t *again = s_received (tx);
    cc_tx_t *corrupted = s_corrupted (tx);
    uint8_t hash [CC_HASH_SIZE];
    memcpy (hash, cc_tx_hash (tx), CC_HASH_SIZE);
    s_add_ok (pool, tx);
    ck_assert_uint_eq (s_stats (pool).verifications, 1);

    //  Same hash: refused before any signature check, even a bad signature.
    s_add_refused (pool, again, CC_E_DUPLICATE);
    s_add_refused (pool, corrupted, CC_E_DUPLICATE);
    ck_assert_uint_eq (s_stats (pool).verifications, 1);

    //  Same (signer, nonce), another body: the first one stays.
    cc_tx_t *other = s_tx_amount (alice, 1, 99, 7);
    uint8_t other_hash [CC_HASH_SIZE];
    memcpy (other_hash, cc_tx_hash (other), CC_HASH_SIZE);
    ck_assert_mem_ne (other_hash, hash, CC_HASH_SIZE);
    s_add_refused (pool, other, CC_E_DUPLICATE);
    ck_assert (cc_mempool_contains (pool, hash));
    ck_assert (!cc_mempool_contains (pool, other_hash));
    ck_assert_uint_eq (cc_mempool_size (pool), 1);
    ck_assert_uint_eq (s_refused (pool, CC_E_DUPLICATE), 3);

    //  Another nonce of the same signer is fine.
    s_add_ok (pool, s_tx (alice, 2, 10));
    ck_assert_uint_eq (cc_mempool_size (pool), 2);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&alice);
}
END_TEST

START_TEST (test_nonce_replay)
{
    cc_keypair_t *alice = fixture_keypair (1);
    s_nonces_t nonces = {0};
    s_nonce_set (&nonces, alice, 5);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 100, 1 << 20, s_nonce_of, &nonces);
    s_add_refused (pool, s_tx (alice, 5, 10), CC_E_NONCE_REPLAY);
    s_add_refused (pool, s_tx (alice, 3, 10), CC_E_NONCE_REPLAY);
    s_add_refused (pool, s_tx (alice, 0, 10), CC_E_NONCE_REPLAY);
    ck_assert_uint_eq (s_refused (pool, CC_E_NONCE_REPLAY), 3);
    s_add_ok (pool, s_tx (alice, 6, 10));
    ck_assert_uint_eq (cc_mempool_size (pool), 1);
    ck_assert_uint_gt (nonces.calls, 0);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&alice);
}
END_TEST

START_TEST (test_nonce_gap)
{
    cc_keypair_t *alice = fixture_keypair (1);
    cc_keypair_t *bob = fixture_keypair (2);
    s_nonces_t nonces = {0};
    s_nonce_set (&nonces, bob, 50);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 100, 1 << 20, s_nonce_of, &nonces);
    //  Default gap: committed + 1000 is the farthest.
    s_add_refused (pool, s_tx (alice, CC_MEMPOOL_MAX_GAP + 1, 10), CC_E_NONCE_GAP);
    s_add_ok (pool, s_tx (alice, CC_MEMPOOL_MAX_GAP, 10));
    s_add_refused (pool, s_tx (bob, 50 + CC_MEMPOOL_MAX_GAP + 1, 10), CC_E_NONCE_GAP);
    s_add_ok (pool, s_tx (bob, 50 + CC_MEMPOOL_MAX_GAP, 10));
    //  A gap is allowed within the limit (waits for the missing nonces).
    s_add_ok (pool, s_tx (alice, 3, 10));
    //  A tighter limit.
    cc_mempool_set_max_gap (pool, 10);
    s_add_refused (pool, s_tx (bob, 61, 10), CC_E_NONCE_GAP);
    s_add_ok (pool, s_tx (bob, 60, 10));
    ck_assert_uint_eq (s_refused (pool, CC_E_NONCE_GAP), 3);
    ck_assert_uint_eq (cc_mempool_size (pool), 4);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&alice);
    cc_keypair_destroy (&bob);
}
END_TEST

//  --- Packing ---------------------------------------------------------------------

//  Checks that reaped txs are (signer, nonce) pairs as expected.
static void
s_assert_reaped (cc_tx_t **out, size_t count, cc_keypair_t **signers, uint64_t *nonces,
                 size_t expected)
{
    ck_assert_uint_eq (count, expected);
    for (size_t index = 0; index < count; index++) {
        ck_assert_mem_eq (cc_tx_signer (out [index]), cc_keypair_public (signers [index]),
                          CC_PUBKEY_SIZE);
        ck_assert_uint_eq (cc_tx_nonce (out [index]), nonces [index]);
    }
}

START_TEST (test_reap_order)
{
    cc_keypair_t *a = fixture_keypair (1);
    cc_keypair_t *b = fixture_keypair (2);
    cc_keypair_t *c = fixture_keypair (3);
    s_nonces_t nonces = {0};
    s_nonce_set (&nonces, c, 10);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 100, 1 << 20, s_nonce_of, &nonces);
    //  a arrives first (out of order), then b (with a gap at 3), then c
    //  (missing 11).
    s_add_ok (pool, s_tx (a, 3, 1));
    s_add_ok (pool, s_tx (b, 2, 1));
    s_add_ok (pool, s_tx (c, 13, 1));
    s_add_ok (pool, s_tx (a, 1, 1));
    s_add_ok (pool, s_tx (b, 1, 1));
    s_add_ok (pool, s_tx (b, 4, 1));
    s_add_ok (pool, s_tx (c, 12, 1));
    s_add_ok (pool, s_tx (a, 2, 1));
    ck_assert_uint_eq (cc_mempool_size (pool), 8);

    cc_tx_t *out [16];
    size_t count = cc_mempool_reap (pool, 16, SIZE_MAX, out);
    cc_keypair_t *signers_1 [] = {a, b, a, b, a};
    uint64_t nonces_1 [] = {1, 1, 2, 2, 3};
    s_assert_reaped (out, count, signers_1, nonces_1, 5);
    //  Reaping changes nothing.
    ck_assert_uint_eq (cc_mempool_size (pool), 8);

    //  c's missing nonce arrives: its run now counts, in c's turn.
    s_add_ok (pool, s_tx (c, 11, 1));
    count = cc_mempool_reap (pool, 16, SIZE_MAX, out);
    cc_keypair_t *signers_2 [] = {a, b, c, a, b, c, a, c};
    uint64_t nonces_2 [] = {1, 1, 11, 2, 2, 12, 3, 13};
    s_assert_reaped (out, count, signers_2, nonces_2, 8);

    //  Once b's 1..2 are committed, b's queue starts at 4: a gap at 3.
    s_nonce_set (&nonces, b, 2);
    count = cc_mempool_reap (pool, 16, SIZE_MAX, out);
    cc_keypair_t *signers_3 [] = {a, c, a, c, a, c};
    uint64_t nonces_3 [] = {1, 11, 2, 12, 3, 13};
    s_assert_reaped (out, count, signers_3, nonces_3, 6);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&a);
    cc_keypair_destroy (&b);
    cc_keypair_destroy (&c);
}
END_TEST

START_TEST (test_reap_limits)
{
    cc_keypair_t *a = fixture_keypair (1);
    cc_keypair_t *b = fixture_keypair (2);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 100, 1 << 20, NULL, NULL);
    for (uint64_t nonce = 1; nonce <= 5; nonce++) {
        s_add_ok (pool, s_tx (a, nonce, 1));
        s_add_ok (pool, s_tx (b, nonce, 1));
    }
    cc_tx_t *out [16];
    ck_assert_uint_eq (cc_mempool_reap (pool, 16, SIZE_MAX, out), 10);
    ck_assert_uint_eq (cc_mempool_reap (pool, 3, SIZE_MAX, out), 3);
    ck_assert_uint_eq (cc_mempool_reap (pool, 0, SIZE_MAX, out), 0);

    //  Bytes: exactly the first three fit, one byte less gives two.
    ck_assert_uint_eq (cc_mempool_reap (pool, 16, SIZE_MAX, out), 10);
    size_t three = cc_tx_size (out [0]) + cc_tx_size (out [1]) + cc_tx_size (out [2]);
    size_t count = cc_mempool_reap (pool, 16, three, out);
    ck_assert_uint_eq (count, 3);
    size_t total = 0;
    for (size_t index = 0; index < count; index++)
        total += cc_tx_size (out [index]);
    ck_assert_uint_le (total, three);
    ck_assert_uint_eq (cc_mempool_reap (pool, 16, three - 1, out), 2);
    ck_assert_uint_eq (cc_mempool_reap (pool, 16, cc_tx_size (out [0]) - 1, out), 0);

    //  A signer whose next tx does not fit stops; a smaller one of another
    //  signer still goes in.
    cc_keypair_t *c = fixture_keypair (3);
    cc_mempool_t *small = cc_mempool_new (FIXTURE_CHAIN, 100, 1 << 20, NULL, NULL);
    s_add_ok (small, s_tx_amount (a, 1, 1, 1));
    s_add_ok (small, s_tx_amount (a, 2, 1, UINT64_MAX));    //  10 bytes of varint
    s_add_ok (small, s_tx_amount (c, 1, 1, 1));
    s_add_ok (small, s_tx_amount (c, 2, 1, 1));
    ck_assert_uint_eq (cc_mempool_reap (small, 16, SIZE_MAX, out), 4);
    size_t a1 = cc_tx_size (out [0]);
    size_t a2 = cc_tx_size (out [2]);
    ck_assert_uint_gt (a2, a1);
    //  Room for a1, c1, c2 but not a2.
    count = cc_mempool_reap (small, 16, 3 * a1, out);
    ck_assert_uint_eq (count, 3);
    ck_assert_uint_eq (cc_tx_nonce (out [2]), 2);
    ck_assert_mem_eq (cc_tx_signer (out [2]), cc_keypair_public (c), CC_PUBKEY_SIZE);
    cc_mempool_destroy (&small);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&a);
    cc_keypair_destroy (&b);
    cc_keypair_destroy (&c);
}
END_TEST

//  --- After a commit ----------------------------------------------------------------

START_TEST (test_update_and_remove)
{
    cc_keypair_t *a = fixture_keypair (1);
    cc_keypair_t *b = fixture_keypair (2);
    s_nonces_t nonces = {0};
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 100, 1 << 20, s_nonce_of, &nonces);
    cc_tx_t *a1 = s_tx (a, 1, 1);
    cc_tx_t *a1_copy = s_received (a1);
    uint8_t a1_hash [CC_HASH_SIZE];
    memcpy (a1_hash, cc_tx_hash (a1), CC_HASH_SIZE);
    s_add_ok (pool, a1);
    cc_tx_t *a2 = s_tx (a, 2, 1);
    uint8_t a2_hash [CC_HASH_SIZE];
    memcpy (a2_hash, cc_tx_hash (a2), CC_HASH_SIZE);
    s_add_ok (pool, a2);
    s_add_ok (pool, s_tx (a, 3, 1));
    s_add_ok (pool, s_tx (b, 1, 1));
    s_add_ok (pool, s_tx (b, 2, 1));
    size_t bytes_before = cc_mempool_bytes (pool);
    ck_assert_uint_eq (cc_mempool_size (pool), 5);

    //  The block holds a1 and another b1 this pool never saw.
    cc_tx_t *b1_other = s_tx_amount (b, 1, 5, 77);
    cc_tx_t *block [] = {a1_copy, b1_other};
    s_nonce_set (&nonces, a, 1);
    s_nonce_set (&nonces, b, 1);
    cc_mempool_update (pool, block, 2);
    ck_assert_uint_eq (cc_mempool_size (pool), 3);
    ck_assert_uint_lt (cc_mempool_bytes (pool), bytes_before);
    ck_assert (!cc_mempool_contains (pool, a1_hash));
    cc_mempool_stats_t stats = s_stats (pool);
    ck_assert_uint_eq (stats.committed, 1);
    ck_assert_uint_eq (stats.stale, 1);
    uint64_t verified = stats.verifications;

    //  Committed hashes are remembered: a1 again is a duplicate, refused
    //  before its signature is checked; b1_other too.
    ck_assert (cc_mempool_signature_checked (pool, a1_hash));
    ck_assert (cc_mempool_signature_checked (pool, cc_tx_hash (b1_other)));
    s_add_refused (pool, s_received (a1_copy), CC_E_DUPLICATE);
    s_add_refused (pool, s_corrupted (b1_other), CC_E_DUPLICATE);
    ck_assert_uint_eq (s_stats (pool).verifications, verified);

    cc_tx_t *out [8];
    size_t count = cc_mempool_reap (pool, 8, SIZE_MAX, out);
    cc_keypair_t *signers [] = {a, b, a};
    uint64_t expected [] = {2, 2, 3};
    s_assert_reaped (out, count, signers, expected, 3);

    //  Remove a2 (it failed to apply): a3 waits behind the gap.
    ck_assert_int_eq (cc_mempool_remove (pool, a2_hash), 0);
    ck_assert_int_eq (cc_mempool_remove (pool, a2_hash), CC_E_NOT_FOUND);
    ck_assert_uint_eq (cc_mempool_size (pool), 2);
    ck_assert_uint_eq (s_stats (pool).removed, 1);
    count = cc_mempool_reap (pool, 8, SIZE_MAX, out);
    ck_assert_uint_eq (count, 1);
    ck_assert_mem_eq (cc_tx_signer (out [0]), cc_keypair_public (b), CC_PUBKEY_SIZE);

    //  A commit that skips past a3 removes it as stale; b's queue empties.
    cc_tx_t *a3_other = s_tx_amount (a, 3, 1, 9);
    cc_tx_t *b2_other = s_tx_amount (b, 2, 1, 9);
    cc_tx_t *block_2 [] = {a3_other, b2_other};
    s_nonce_set (&nonces, a, 3);
    s_nonce_set (&nonces, b, 2);
    cc_mempool_update (pool, block_2, 2);
    ck_assert_uint_eq (cc_mempool_size (pool), 0);
    ck_assert_uint_eq (cc_mempool_bytes (pool), 0);
    ck_assert_uint_eq (cc_mempool_reap (pool, 8, SIZE_MAX, out), 0);
    ck_assert_uint_eq (s_stats (pool).stale, 3);

    cc_tx_destroy (&a1_copy);
    cc_tx_destroy (&b1_other);
    cc_tx_destroy (&a3_other);
    cc_tx_destroy (&b2_other);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&a);
    cc_keypair_destroy (&b);
}
END_TEST

//  --- Caps and eviction ------------------------------------------------------------

START_TEST (test_eviction)
{
    cc_keypair_t *a = fixture_keypair (1);
    cc_keypair_t *b = fixture_keypair (2);
    cc_keypair_t *c = fixture_keypair (3);
    cc_keypair_t *d = fixture_keypair (4);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 3, 1 << 20, NULL, NULL);
    //  a1 is the cheapest tx but not the last of a's queue.
    cc_tx_t *a1 = s_tx (a, 1, 1);
    uint8_t a1_hash [CC_HASH_SIZE];
    memcpy (a1_hash, cc_tx_hash (a1), CC_HASH_SIZE);
    s_add_ok (pool, a1);
    cc_tx_t *a2 = s_tx (a, 2, 9);
    uint8_t a2_hash [CC_HASH_SIZE];
    memcpy (a2_hash, cc_tx_hash (a2), CC_HASH_SIZE);
    s_add_ok (pool, a2);
    cc_tx_t *b1 = s_tx (b, 1, 5);
    uint8_t b1_hash [CC_HASH_SIZE];
    memcpy (b1_hash, cc_tx_hash (b1), CC_HASH_SIZE);
    s_add_ok (pool, b1);

    //  Tails are a2 (9) and b1 (5): a newcomer must pay more than 5.
    s_add_refused (pool, s_tx (c, 1, 3), CC_E_MEMPOOL_FULL);
    s_add_refused (pool, s_tx (c, 1, 5), CC_E_MEMPOOL_FULL);
    ck_assert_uint_eq (s_refused (pool, CC_E_MEMPOOL_FULL), 2);
    ck_assert_uint_eq (cc_mempool_size (pool), 3);
    ck_assert_uint_eq (s_stats (pool).evicted, 0);

    cc_tx_t *c1 = s_tx (c, 1, 6);
    uint8_t c1_hash [CC_HASH_SIZE];
    memcpy (c1_hash, cc_tx_hash (c1), CC_HASH_SIZE);
    s_add_ok (pool, c1);
    ck_assert_uint_eq (cc_mempool_size (pool), 3);
    ck_assert_uint_eq (s_stats (pool).evicted, 1);
    ck_assert (!cc_mempool_contains (pool, b1_hash));
    ck_assert (cc_mempool_contains (pool, a1_hash));    //  no gap left in a's queue
    ck_assert (cc_mempool_contains (pool, a2_hash));
    ck_assert (cc_mempool_contains (pool, c1_hash));

    //  Now tails are a2 (9) and c1 (6): d pays 7, evicting c1.
    s_add_ok (pool, s_tx (d, 1, 7));
    ck_assert (!cc_mempool_contains (pool, c1_hash));
    //  Tails a2 (9) and d1 (7); a newcomer paying 10 evicts d1, then a2 (9).
    s_add_ok (pool, s_tx (c, 1, 10));
    s_add_ok (pool, s_tx (b, 1, 10));
    ck_assert (!cc_mempool_contains (pool, a2_hash));
    ck_assert (cc_mempool_contains (pool, a1_hash));
    ck_assert_uint_eq (s_stats (pool).evicted, 4);

    //  Every signer's queue is still a contiguous run: reap gets them all.
    cc_tx_t *out [4];
    ck_assert_uint_eq (cc_mempool_reap (pool, 4, SIZE_MAX, out), 3);
    cc_mempool_destroy (&pool);

    //  A newcomer never evicts its own earlier nonce: a3 (fee 100) cannot
    //  take a2's place, it evicts b1 instead.
    pool = cc_mempool_new (FIXTURE_CHAIN, 3, 1 << 20, NULL, NULL);
    s_add_ok (pool, s_tx (a, 1, 1));
    s_add_ok (pool, s_tx (a, 2, 2));
    s_add_ok (pool, s_tx (b, 1, 50));
    s_add_ok (pool, s_tx (a, 3, 100));
    ck_assert_uint_eq (cc_mempool_reap (pool, 4, SIZE_MAX, out), 3);
    for (size_t index = 0; index < 3; index++) {
        ck_assert_mem_eq (cc_tx_signer (out [index]), cc_keypair_public (a), CC_PUBKEY_SIZE);
        ck_assert_uint_eq (cc_tx_nonce (out [index]), index + 1);
    }
    //  With only its own earlier txs to evict, a4 is refused.
    s_add_refused (pool, s_tx (a, 4, 1000), CC_E_MEMPOOL_FULL);
    //  But a newcomer filling an earlier nonce may evict its own later one.
    cc_mempool_destroy (&pool);
    pool = cc_mempool_new (FIXTURE_CHAIN, 2, 1 << 20, NULL, NULL);
    s_add_ok (pool, s_tx (a, 2, 1));
    s_add_ok (pool, s_tx (a, 3, 1));
    s_add_ok (pool, s_tx (a, 1, 5));
    ck_assert_uint_eq (cc_mempool_reap (pool, 4, SIZE_MAX, out), 2);
    ck_assert_uint_eq (cc_tx_nonce (out [1]), 2);
    ck_assert_uint_eq (s_stats (pool).evicted, 1);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&a);
    cc_keypair_destroy (&b);
    cc_keypair_destroy (&c);
    cc_keypair_destroy (&d);
}
END_TEST

START_TEST (test_byte_cap)
{
    cc_keypair_t *a = fixture_keypair (1);
    cc_keypair_t *b = fixture_keypair (2);
    cc_tx_t *probe = s_tx (a, 1, 1);
    size_t size = cc_tx_size (probe);
    cc_tx_destroy (&probe);
    size_t cap = 2 * size + size / 2;
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 100, cap, NULL, NULL);
    s_add_ok (pool, s_tx (a, 1, 1));
    s_add_ok (pool, s_tx (a, 2, 1));
    ck_assert_uint_eq (cc_mempool_bytes (pool), 2 * size);
    s_add_refused (pool, s_tx (b, 1, 1), CC_E_MEMPOOL_FULL);
    ck_assert_uint_le (cc_mempool_bytes (pool), cap);
    //  Paying more evicts a2 (a's tail), never a1.
    s_add_ok (pool, s_tx (b, 1, 2));
    ck_assert_uint_eq (cc_mempool_size (pool), 2);
    ck_assert_uint_le (cc_mempool_bytes (pool), cap);
    cc_tx_t *out [4];
    ck_assert_uint_eq (cc_mempool_reap (pool, 4, SIZE_MAX, out), 2);
    ck_assert_uint_eq (cc_tx_nonce (out [0]), 1);
    ck_assert_uint_eq (s_stats (pool).evicted, 1);
    cc_mempool_destroy (&pool);

    //  Several victims: a tx 9 bytes longer needs both pooled txs gone, and
    //  room is made only if both are cheaper (else the pool is untouched).
    cc_keypair_t *c = fixture_keypair (3);
    pool = cc_mempool_new (FIXTURE_CHAIN, 100, 2 * size + 5, NULL, NULL);
    s_add_ok (pool, s_tx (a, 1, 1));
    s_add_ok (pool, s_tx (b, 1, 9));
    cc_tx_t *big = s_tx_amount (c, 1, 5, UINT64_MAX);
    ck_assert_uint_gt (cc_tx_size (big), size + 5);
    s_add_refused (pool, big, CC_E_MEMPOOL_FULL);
    ck_assert_uint_eq (cc_mempool_size (pool), 2);
    ck_assert_uint_eq (cc_mempool_bytes (pool), 2 * size);
    ck_assert_uint_eq (s_stats (pool).evicted, 0);
    //  a's own nonce 2 may not evict a1, and b1 alone is not enough.
    s_add_refused (pool, s_tx_amount (a, 2, 10, UINT64_MAX), CC_E_MEMPOOL_FULL);
    ck_assert_uint_eq (cc_mempool_size (pool), 2);
    ck_assert_uint_eq (s_stats (pool).evicted, 0);
    cc_tx_t *out2 [4];
    ck_assert_uint_eq (cc_mempool_reap (pool, 4, SIZE_MAX, out2), 2);
    //  Another signer paying 10 evicts both.
    s_add_ok (pool, s_tx_amount (c, 1, 10, UINT64_MAX));
    ck_assert_uint_eq (cc_mempool_size (pool), 1);
    ck_assert_uint_eq (s_stats (pool).evicted, 2);
    ck_assert_uint_le (cc_mempool_bytes (pool), 2 * size + 5);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&c);

    //  A tx larger than the whole pool never fits.
    cc_mempool_t *tiny = cc_mempool_new (FIXTURE_CHAIN, 100, size - 1, NULL, NULL);
    s_add_refused (tiny, s_tx (a, 1, 1000), CC_E_MEMPOOL_FULL);
    cc_mempool_destroy (&tiny);
    cc_keypair_destroy (&a);
    cc_keypair_destroy (&b);
}
END_TEST

//  --- Signature cache ----------------------------------------------------------------

START_TEST (test_signature_cache)
{
    cc_keypair_t *a = fixture_keypair (1);
    cc_keypair_t *b = fixture_keypair (2);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 2, 1 << 20, NULL, NULL);
    cc_tx_t *a1 = s_tx (a, 1, 1);
    cc_tx_t *a1_copy = s_received (a1);
    cc_tx_t *a1_bad = s_corrupted (a1);
    uint8_t a1_hash [CC_HASH_SIZE];
    memcpy (a1_hash, cc_tx_hash (a1), CC_HASH_SIZE);
    uint8_t unknown [CC_HASH_SIZE] = {0};
    ck_assert (!cc_mempool_signature_checked (pool, a1_hash));
    ck_assert (!cc_mempool_signature_matches (pool, a1_copy));

    s_add_ok (pool, a1);
    ck_assert (cc_mempool_signature_checked (pool, a1_hash));
    ck_assert (!cc_mempool_signature_checked (pool, unknown));
    ck_assert (cc_mempool_signature_matches (pool, a1_copy));
    ck_assert (!cc_mempool_signature_matches (pool, a1_bad));

    //  Evicted, a1 is still known as checked.
    s_add_ok (pool, s_tx (b, 1, 5));
    s_add_ok (pool, s_tx (b, 2, 5));
    ck_assert (!cc_mempool_contains (pool, a1_hash));
    ck_assert_uint_eq (s_stats (pool).evicted, 1);
    ck_assert (cc_mempool_signature_checked (pool, a1_hash));
    ck_assert (cc_mempool_signature_matches (pool, a1_copy));
    ck_assert (!cc_mempool_signature_matches (pool, a1_bad));

    //  A signature verified elsewhere can be remembered.
    cc_tx_t *b9 = s_tx (b, 9, 1);
    ck_assert (!cc_mempool_signature_checked (pool, cc_tx_hash (b9)));
    cc_mempool_signature_remember (pool, b9);
    ck_assert (cc_mempool_signature_checked (pool, cc_tx_hash (b9)));
    ck_assert (cc_mempool_signature_matches (pool, b9));
    cc_tx_destroy (&b9);

    //  The cache is bounded (2 * max_txs, at least 256): a flood of other
    //  verified hashes pushes a1 out.
    cc_mempool_t *bounded = cc_mempool_new (FIXTURE_CHAIN, 2, 1 << 20, NULL, NULL);
    cc_tx_t *first = s_received (a1_copy);
    s_add_ok (bounded, first);
    ck_assert (cc_mempool_remove (bounded, a1_hash) == 0);
    ck_assert (cc_mempool_signature_checked (bounded, a1_hash));
    for (uint64_t nonce = 1; nonce <= 300; nonce++) {
        cc_tx_t *tx = s_transfer_opened (b, FIXTURE_CHAIN, nonce, 1, 1);
        cc_mempool_signature_remember (bounded, tx);
        cc_tx_destroy (&tx);
    }
    ck_assert (!cc_mempool_signature_checked (bounded, a1_hash));
    cc_mempool_destroy (&bounded);

    cc_tx_destroy (&a1_copy);
    cc_tx_destroy (&a1_bad);
    cc_mempool_destroy (&pool);
    cc_keypair_destroy (&a);
    cc_keypair_destroy (&b);
}
END_TEST

START_TEST (test_verified_once)
{
    cc_keypair_t *keys [4];
    for (unsigned index = 0; index < 4; index++)
        keys [index] = fixture_keypair (index + 1);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, 100, 1 << 20, NULL, NULL);
    cc_tx_t *copies [40];
    for (uint64_t nonce = 1; nonce <= 10; nonce++)
        for (unsigned index = 0; index < 4; index++) {
            cc_tx_t *tx = s_tx (keys [index], nonce, 1);
            copies [(nonce - 1) * 4 + index] = s_received (tx);
            s_add_ok (pool, tx);
        }
    ck_assert_uint_eq (s_stats (pool).verifications, 40);
    for (size_t index = 0; index < 40; index++)
        s_add_refused (pool, s_received (copies [index]), CC_E_DUPLICATE);
    ck_assert_uint_eq (s_stats (pool).verifications, 40);

    //  Removed then received again: the cached verification is reused.
    uint8_t hash [CC_HASH_SIZE];
    memcpy (hash, cc_tx_hash (copies [39]), CC_HASH_SIZE);
    ck_assert_int_eq (cc_mempool_remove (pool, hash), 0);
    //  ... but not for a corrupted signature on the same body.
    s_add_refused (pool, s_corrupted (copies [39]), CC_E_BAD_SIGNATURE);
    ck_assert_uint_eq (s_stats (pool).verifications, 41);
    s_add_ok (pool, s_received (copies [39]));
    cc_mempool_stats_t stats = s_stats (pool);
    ck_assert_uint_eq (stats.verifications, 41);
    ck_assert_uint_eq (stats.signature_hits, 1);
    ck_assert_uint_eq (stats.admitted, 41);

    for (size_t index = 0; index < 40; index++)
        cc_tx_destroy (&copies [index]);
    cc_mempool_destroy (&pool);
    for (unsigned index = 0; index < 4; index++)
        cc_keypair_destroy (&keys [index]);
}
END_TEST

//  --- Random workload: eviction never leaves a gap ----------------------------------

START_TEST (test_random_no_gaps)
{
    enum { SIGNERS = 8, STEPS = 400, CAP = 24 };
    cc_keypair_t *keys [SIGNERS];
    s_nonces_t nonces = {0};
    for (unsigned index = 0; index < SIGNERS; index++) {
        keys [index] = fixture_keypair (index + 1);
        s_nonce_set (&nonces, keys [index], 0);
    }
    cc_tx_t *probe = s_tx (keys [0], 1, 1);
    size_t size = cc_tx_size (probe);
    cc_tx_destroy (&probe);
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, CAP, (CAP - 4) * size + size / 2,
                                         s_nonce_of, &nonces);
    uint32_t seed = 12345;
    cc_tx_t *out [CAP + 1];
    for (unsigned step = 0; step < STEPS; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned signer = (seed >> 16) % SIGNERS;
        uint64_t fee = (seed >> 8) % 50;
        //  Next nonce for this signer: after its pooled run, in order.
        size_t count = cc_mempool_reap (pool, CAP + 1, SIZE_MAX, out);
        ck_assert_uint_eq (count, cc_mempool_size (pool));
        size_t total = 0;
        uint64_t next = nonces.nonces [signer] + 1;
        for (size_t index = 0; index < count; index++) {
            total += cc_tx_size (out [index]);
            if (memcmp (cc_tx_signer (out [index]), cc_keypair_public (keys [signer]),
                        CC_PUBKEY_SIZE) == 0)
                next = cc_tx_nonce (out [index]) + 1;
        }
        ck_assert_uint_eq (total, cc_mempool_bytes (pool));
        ck_assert_uint_le (cc_mempool_size (pool), CAP);
        ck_assert_uint_le (cc_mempool_bytes (pool), (CAP - 4) * size + size / 2);

        cc_tx_t *tx = s_tx (keys [signer], next, fee);
        cc_reason_t reason;
        int rc = cc_mempool_add (pool, &tx, &reason);
        ck_assert (rc == 0 || rc == CC_E_MEMPOOL_FULL);
        cc_tx_destroy (&tx);

        //  Now and then a block commits the first few of a reap.
        if (step % 37 == 36) {
            count = cc_mempool_reap (pool, 5, SIZE_MAX, out);
            cc_tx_t *block [5];
            for (size_t index = 0; index < count; index++) {
                block [index] = s_received (out [index]);
                for (unsigned k = 0; k < SIGNERS; k++)
                    if (memcmp (cc_tx_signer (out [index]), cc_keypair_public (keys [k]),
                                CC_PUBKEY_SIZE) == 0)
                        nonces.nonces [k] = cc_tx_nonce (out [index]);
            }
            size_t before = cc_mempool_size (pool);
            cc_mempool_update (pool, block, count);
            ck_assert_uint_eq (cc_mempool_size (pool), before - count);
            for (size_t index = 0; index < count; index++)
                cc_tx_destroy (&block [index]);
        }
    }
    cc_mempool_stats_t stats = s_stats (pool);
    ck_assert_uint_gt (stats.evicted, 0);
    ck_assert_uint_gt (stats.refused_by_code [-CC_E_MEMPOOL_FULL], 0);
    ck_assert_uint_gt (stats.committed, 0);
    cc_mempool_destroy (&pool);
    for (unsigned index = 0; index < SIGNERS; index++)
        cc_keypair_destroy (&keys [index]);
}
END_TEST

//  --- Benchmark (printed only) -------------------------------------------------------

static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

START_TEST (test_benchmark)
{
    //  CC_MEMPOOL_BENCH_TXS overrides the size.
    size_t total = S_UNDER_VALGRIND ? 2000 : 20000;
    const char *env = getenv ("CC_MEMPOOL_BENCH_TXS");
    if (env && atol (env) > 0)
        total = (size_t) atol (env);
    enum { SIGNERS = 200 };
    cc_keypair_t *keys [SIGNERS];
    for (unsigned index = 0; index < SIGNERS; index++)
        keys [index] = fixture_keypair (index + 1);
    cc_tx_t **received = (cc_tx_t **) calloc (total, sizeof (cc_tx_t *));
    cc_tx_t **opened = (cc_tx_t **) calloc (total, sizeof (cc_tx_t *));
    for (size_t index = 0; index < total; index++) {
        opened [index] = s_transfer_opened (keys [index % SIGNERS], FIXTURE_CHAIN,
                                            index / SIGNERS + 1, index % 97, 1);
        received [index] = s_received (opened [index]);
    }
    //  Unopened txs: the real path, with one signature check each.
    cc_mempool_t *pool = cc_mempool_new (FIXTURE_CHAIN, total, SIZE_MAX, NULL, NULL);
    double start = s_now ();
    for (size_t index = 0; index < total; index++)
        ck_assert_int_eq (cc_mempool_add (pool, &received [index], NULL), 0);
    double verified = s_now () - start;
    ck_assert_uint_eq (cc_mempool_size (pool), total);
    cc_tx_t **out = (cc_tx_t **) calloc (total, sizeof (cc_tx_t *));
    start = s_now ();
    size_t reaped = cc_mempool_reap (pool, total, SIZE_MAX, out);
    double reap = s_now () - start;
    ck_assert_uint_eq (reaped, total);
    cc_mempool_destroy (&pool);

    //  Opened txs: the mempool's own cost, without signature checks; a
    //  pool a tenth of the size, so most admissions evict.
    pool = cc_mempool_new (FIXTURE_CHAIN, total / 10, SIZE_MAX, NULL, NULL);
    start = s_now ();
    for (size_t index = 0; index < total; index++) {
        int rc = cc_mempool_add (pool, &opened [index], NULL);
        ck_assert (rc == 0 || rc == CC_E_MEMPOOL_FULL);
    }
    double structure = s_now () - start;
    cc_mempool_stats_t stats = s_stats (pool);
    printf ("mempool benchmark: %zu txs, %d signers\n"
            "  admit with signature check: %.0f tx/s\n"
            "  reap of %zu: %.2f ms\n"
            "  admit without check, pool of %zu (%" PRIu64 " evicted, %" PRIu64
            " refused): %.0f tx/s\n",
            total, SIGNERS, (double) total / verified, reaped, reap * 1000.0, total / 10,
            stats.evicted, stats.refused, (double) total / structure);
    cc_mempool_destroy (&pool);
    for (size_t index = 0; index < total; index++)
        cc_tx_destroy (&opened [index]);
    free (opened);
    free (received);
    free (out);
    for (unsigned index = 0; index < SIGNERS; index++)
        cc_keypair_destroy (&keys [index]);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("mempool");
    TCase *tc_admit = tcase_create ("admission");
    tcase_add_test (tc_admit, test_adopt_envelope);
    tcase_add_test (tc_admit, test_admit);
    tcase_add_test (tc_admit, test_bad_signature);
    tcase_add_test (tc_admit, test_wrong_chain_and_malformed);
    tcase_add_test (tc_admit, test_duplicate);
    tcase_add_test (tc_admit, test_nonce_replay);
    tcase_add_test (tc_admit, test_nonce_gap);
    suite_add_tcase (suite, tc_admit);
    TCase *tc_pack = tcase_create ("packing");
    tcase_add_test (tc_pack, test_reap_order);
    tcase_add_test (tc_pack, test_reap_limits);
    tcase_add_test (tc_pack, test_update_and_remove);
    suite_add_tcase (suite, tc_pack);
    TCase *tc_caps = tcase_create ("caps");
    tcase_add_test (tc_caps, test_eviction);
    tcase_add_test (tc_caps, test_byte_cap);
    tcase_add_test (tc_caps, test_random_no_gaps);
    suite_add_tcase (suite, tc_caps);
    TCase *tc_signatures = tcase_create ("signatures");
    tcase_add_test (tc_signatures, test_signature_cache);
    tcase_add_test (tc_signatures, test_verified_once);
    suite_add_tcase (suite, tc_signatures);
    TCase *tc_bench = tcase_create ("benchmark");
    tcase_set_timeout (tc_bench, 300);
    tcase_add_test (tc_bench, test_benchmark);
    suite_add_tcase (suite, tc_bench);
    return fixture_run (suite);
}
