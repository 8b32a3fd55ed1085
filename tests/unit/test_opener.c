/*  =========================================================================
    test_opener - blocks decoded and their transactions opened on worker
    threads, in order, with bad input kept for the verdict

    The blocks are built for real (a fixture genesis, its state, one
    transfer from each of many accounts, so a block spans several chunks)
    and serialized; the opener gets the bytes, as a syncing node gets them
    from the relay.
    =========================================================================
*/

#include "fixture.h"

#include "block.h"
#include "opener.h"
#include "state.h"
#include "store.h"

#include <czmq.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define S_ACCOUNTS 200
#define S_BALANCE 1000000

//  A serialized block of one transfer per account, and the signature of
//  its transaction number S_BAD_TX, to tamper with.
#define S_BAD_TX 130

typedef struct {
    uint8_t *data;                          //  the block's bytes (owned)
    size_t size;                            //  their size
    size_t tx_count;                        //  its transactions
    uint8_t signature [CC_SIGNATURE_SIZE];  //  signature of tx S_BAD_TX
} s_block_bytes_t;

static void
s_make_block (s_block_bytes_t *out)
{
    char *dir = fixture_tempdir ("opener");
    cc_genesis_t *genesis = fixture_genesis (1, 0, S_ACCOUNTS, S_BALANCE);
    ck_assert_ptr_nonnull (genesis);
    const char *const families [] = {CC_STATE_FAMILY, NULL};
    cc_reason_t reason;
    cc_store_t *store = cc_store_open (dir, families, 0, &reason);
    ck_assert_msg (store != NULL, "%s", reason.text);
    cc_state_t *state = cc_state_new (store, genesis, &reason);
    ck_assert_msg (state != NULL, "%s", reason.text);

    cc_tx_t *txs [S_ACCOUNTS];
    for (size_t index = 0; index < S_ACCOUNTS; index++) {
        cc_keypair_t *sender = fixture_keypair (FIXTURE_ACCOUNT (index));
        cc_keypair_t *recipient = fixture_keypair (FIXTURE_ACCOUNT ((index + 1) % S_ACCOUNTS));
        txs [index] = fixture_transfer (sender, cc_keypair_public (recipient), 5, 1, 1);
        ck_assert_ptr_nonnull (txs [index]);
        cc_keypair_destroy (&sender);
        cc_keypair_destroy (&recipient);
    }
    cc_keypair_t *proposer = fixture_keypair (FIXTURE_CA (0));
    cc_block_build_args_t args = {
        .state = state,
        .proposer = proposer,
        .height = 1,
        .time_ms = FIXTURE_GENESIS_TIME_MS + 1000,
        .parent_hash = cc_genesis_hash (genesis),
        .candidates = txs,
        .count = S_ACCOUNTS,
    };
    cc_block_t *block = cc_block_build (&args, NULL, &reason);
    ck_assert_msg (block != NULL, "build: %s", reason.text);
    out->tx_count = cc_block_tx_count (block);
    ck_assert_uint_eq (out->tx_count, S_ACCOUNTS);
    memcpy (out->signature, cc_tx_envelope (cc_block_tx (block, S_BAD_TX))->signature.data,
            CC_SIGNATURE_SIZE);
    ck_assert_int_eq (cc_block_encode (block, false, &out->data, &out->size), 0);

    cc_block_destroy (&block);
    cc_keypair_destroy (&proposer);
    for (size_t index = 0; index < S_ACCOUNTS; index++)
        cc_tx_destroy (&txs [index]);
    cc_state_destroy (&state);
    cc_store_destroy (&store);
    cc_genesis_destroy (&genesis);
    fixture_rmtree (dir);
    free (dir);
}

//  The same bytes with one bit of tx S_BAD_TX's signature flipped (the
//  block still decodes; its tx root covers bodies, not signatures).
static uint8_t *
s_tampered (const s_block_bytes_t *block)
{
    uint8_t *copy = (uint8_t *) malloc (block->size);
    ck_assert_ptr_nonnull (copy);
    memcpy (copy, block->data, block->size);
    uint8_t *at = (uint8_t *) memmem (copy, block->size, block->signature, CC_SIGNATURE_SIZE);
    ck_assert_ptr_nonnull (at);
    at [10] ^= 0x01;
    return copy;
}

static bool
s_readable (int fd, int timeout_ms)
{
    struct pollfd item = {fd, POLLIN, 0};
    return poll (&item, 1, timeout_ms) == 1 && (item.revents & POLLIN);
}

//  Every transaction of block is opened already (cc_tx_is_open), except
//  the one at except (SIZE_MAX: none).
static void
s_assert_opened (cc_block_t *block, size_t except)
{
    for (size_t index = 0; index < cc_block_tx_count (block); index++)
        if (index == except)
            ck_assert (!cc_tx_is_open (cc_block_tx (block, index)));
        else
            ck_assert_msg (cc_tx_is_open (cc_block_tx (block, index)), "tx %zu not open",
                           index);
}

//  --- Tests -------------------------------------------------------------------------

START_TEST (test_blocks_come_out_in_order_opened)
{
    s_block_bytes_t bytes;
    s_make_block (&bytes);
    //  _i: 0 workers (the caller does it all), 1 or 2 workers.
    size_t threads = (size_t) _i;
    cc_opener_t *opener = cc_opener_new (FIXTURE_CHAIN, threads, true);
    ck_assert_ptr_nonnull (opener);
    ck_assert_int_eq (cc_opener_fd (opener) >= 0, threads > 0);
    uint8_t *tampered = s_tampered (&bytes);
    ck_assert_int_eq (cc_opener_push (opener, bytes.data, bytes.size), 0);
    ck_assert_int_eq (cc_opener_push (opener, tampered, bytes.size), 0);
    ck_assert_int_eq (cc_opener_push (opener, (const uint8_t *) "\xff\x01", 2), 0);
    ck_assert_int_eq (cc_opener_push (opener, bytes.data, bytes.size), 0);
    free (tampered);        //  the opener keeps copies
    ck_assert_uint_eq (cc_opener_count (opener), 4);
    ck_assert_uint_eq (cc_opener_bytes (opener), 3 * bytes.size + 2);

    cc_reason_t reason;
    cc_block_t *block = cc_opener_pop (opener, &reason);
    ck_assert_ptr_nonnull (block);
    ck_assert_uint_eq (cc_block_tx_count (block), bytes.tx_count);
    s_assert_opened (block, SIZE_MAX);
    cc_block_destroy (&block);

    //  The tampered block comes out; its bad transaction kept its verdict.
    block = cc_opener_pop (opener, &reason);
    ck_assert_ptr_nonnull (block);
    s_assert_opened (block, S_BAD_TX);
    cc_reason_clear (&reason);
    ck_assert_int_eq (cc_tx_open (cc_block_tx (block, S_BAD_TX), FIXTURE_CHAIN, false, &reason),
                      CC_E_BAD_SIGNATURE);
    cc_block_destroy (&block);

    //  Garbage: no block, the decoder's reason.
    cc_reason_clear (&reason);
    ck_assert_ptr_null (cc_opener_pop (opener, &reason));
    ck_assert_int_eq (reason.code, CC_E_MALFORMED);

    block = cc_opener_pop (opener, &reason);
    ck_assert_ptr_nonnull (block);
    s_assert_opened (block, SIZE_MAX);
    cc_block_destroy (&block);

    ck_assert_uint_eq (cc_opener_count (opener), 0);
    ck_assert_uint_eq (cc_opener_bytes (opener), 0);
    cc_reason_clear (&reason);
    ck_assert_ptr_null (cc_opener_pop (opener, &reason));
    ck_assert_int_eq (reason.code, CC_E_INVALID_ARG);
    cc_opener_destroy (&opener);
    cc_opener_destroy (&opener);
    free (bytes.data);
}
END_TEST

START_TEST (test_signal_when_ready)
{
    s_block_bytes_t bytes;
    s_make_block (&bytes);
    cc_opener_t *opener = cc_opener_new (FIXTURE_CHAIN, 2, true);
    ck_assert_ptr_nonnull (opener);
    int fd = cc_opener_fd (opener);
    ck_assert (!s_readable (fd, 0));
    ck_assert (!cc_opener_ready (opener));
    ck_assert_int_eq (cc_opener_push (opener, bytes.data, bytes.size), 0);
    //  The workers open it without being asked, and say so.
    ck_assert (s_readable (fd, 10000));
    ck_assert (cc_opener_ready (opener));
    cc_opener_acknowledge (opener);
    ck_assert (!s_readable (fd, 0));
    cc_opener_rearm (opener);
    ck_assert (s_readable (fd, 0));
    cc_opener_acknowledge (opener);
    cc_reason_t reason;
    cc_block_t *block = cc_opener_pop (opener, &reason);
    ck_assert_ptr_nonnull (block);
    s_assert_opened (block, SIZE_MAX);
    cc_block_destroy (&block);
    ck_assert (!cc_opener_ready (opener));
    cc_opener_destroy (&opener);
    free (bytes.data);
}
END_TEST

START_TEST (test_take_never_waits)
{
    s_block_bytes_t bytes;
    s_make_block (&bytes);
    cc_reason_t reason;
    bool next_ready = true;
    //  Without workers nothing gets ready by itself: take finds nothing.
    cc_opener_t *idle = cc_opener_new (FIXTURE_CHAIN, 0, true);
    ck_assert_ptr_nonnull (idle);
    ck_assert_ptr_null (cc_opener_take (idle, &reason, &next_ready));
    ck_assert_int_eq (reason.code, 0);
    ck_assert (!next_ready);
    ck_assert_int_eq (cc_opener_push (idle, bytes.data, bytes.size), 0);
    ck_assert_ptr_null (cc_opener_take (idle, &reason, &next_ready));
    ck_assert_int_eq (reason.code, 0);
    ck_assert_uint_eq (cc_opener_count (idle), 1);
    cc_opener_destroy (&idle);

    //  With workers: two blocks and garbage, taken as they get ready.
    cc_opener_t *opener = cc_opener_new (FIXTURE_CHAIN, 2, true);
    ck_assert_ptr_nonnull (opener);
    ck_assert_int_eq (cc_opener_push (opener, bytes.data, bytes.size), 0);
    ck_assert_int_eq (cc_opener_push (opener, (const uint8_t *) "\xff\x01", 2), 0);
    ck_assert_int_eq (cc_opener_push (opener, bytes.data, bytes.size), 0);
    int64_t end = zclock_mono () + 30000;
    while (cc_opener_decoded (opener) < 2 * S_ACCOUNTS && zclock_mono () < end)
        zclock_sleep (10);
    zclock_sleep (200);     //  the garbage's failed decode, handed out before
    while (!cc_opener_ready (opener) && zclock_mono () < end)
        zclock_sleep (10);
    cc_block_t *block = cc_opener_take (opener, &reason, &next_ready);
    ck_assert_ptr_nonnull (block);
    s_assert_opened (block, SIZE_MAX);
    ck_assert (next_ready);         //  the garbage is "ready": it failed
    cc_block_destroy (&block);
    ck_assert_ptr_null (cc_opener_take (opener, &reason, &next_ready));
    ck_assert_int_eq (reason.code, CC_E_MALFORMED);
    while (!cc_opener_ready (opener) && zclock_mono () < end)
        zclock_sleep (10);
    block = cc_opener_take (opener, &reason, &next_ready);
    ck_assert_ptr_nonnull (block);
    ck_assert (!next_ready);
    cc_block_destroy (&block);
    ck_assert_uint_eq (cc_opener_count (opener), 0);
    cc_opener_destroy (&opener);
    free (bytes.data);
}
END_TEST

START_TEST (test_clear_and_destroy_with_work_queued)
{
    s_block_bytes_t bytes;
    s_make_block (&bytes);
    cc_opener_t *opener = cc_opener_new (FIXTURE_CHAIN, 2, true);
    ck_assert_ptr_nonnull (opener);
    for (size_t index = 0; index < 20; index++)
        ck_assert_int_eq (cc_opener_push (opener, bytes.data, bytes.size), 0);
    cc_opener_clear (opener);
    ck_assert_uint_eq (cc_opener_count (opener), 0);
    ck_assert_uint_eq (cc_opener_bytes (opener), 0);
    ck_assert (!cc_opener_ready (opener));
    //  Still usable after a clear.
    ck_assert_int_eq (cc_opener_push (opener, bytes.data, bytes.size), 0);
    cc_reason_t reason;
    cc_block_t *block = cc_opener_pop (opener, &reason);
    ck_assert_ptr_nonnull (block);
    s_assert_opened (block, SIZE_MAX);
    cc_block_destroy (&block);
    //  Destroyed with work in progress: nothing leaks, nothing hangs.
    for (size_t index = 0; index < 20; index++)
        ck_assert_int_eq (cc_opener_push (opener, bytes.data, bytes.size), 0);
    cc_opener_destroy (&opener);
    ck_assert_ptr_null (opener);
    free (bytes.data);
}
END_TEST

START_TEST (test_decoding_ahead_is_bounded)
{
    s_block_bytes_t bytes;
    s_make_block (&bytes);
    cc_opener_t *opener = cc_opener_new (FIXTURE_CHAIN, 2, true);
    ck_assert_ptr_nonnull (opener);
    size_t blocks = CC_OPENER_AHEAD_TXS / S_ACCOUNTS + 50;
    for (size_t index = 0; index < blocks; index++)
        ck_assert_int_eq (cc_opener_push (opener, bytes.data, bytes.size), 0);
    //  The workers stop decoding at the bound (two may each have started
    //  one more block as it was reached), the rest waits as bytes.
    int64_t end = zclock_mono () + 30000;
    while (cc_opener_decoded (opener) < CC_OPENER_AHEAD_TXS && zclock_mono () < end)
        zclock_sleep (20);
    zclock_sleep (200);
    ck_assert_uint_ge (cc_opener_decoded (opener), CC_OPENER_AHEAD_TXS);
    ck_assert_uint_le (cc_opener_decoded (opener), CC_OPENER_AHEAD_TXS + 2 * S_ACCOUNTS);
    //  Taking blocks makes room: every block comes out, opened.
    cc_reason_t reason;
    for (size_t index = 0; index < blocks; index++) {
        cc_block_t *block = cc_opener_pop (opener, &reason);
        ck_assert_ptr_nonnull (block);
        ck_assert_uint_eq (cc_block_tx_count (block), S_ACCOUNTS);
        s_assert_opened (block, SIZE_MAX);
        cc_block_destroy (&block);
    }
    ck_assert_uint_eq (cc_opener_decoded (opener), 0);
    cc_opener_destroy (&opener);
    free (bytes.data);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("opener");
    TCase *tcase = tcase_create ("opener");
    tcase_add_loop_test (tcase, test_blocks_come_out_in_order_opened, 0, 3);
    tcase_add_test (tcase, test_signal_when_ready);
    tcase_add_test (tcase, test_take_never_waits);
    tcase_add_test (tcase, test_clear_and_destroy_with_work_queued);
    tcase_add_test (tcase, test_decoding_ahead_is_bounded);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
