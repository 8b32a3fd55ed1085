/*  =========================================================================
    test_bench_modules - certchain-bench's own modules

    The figures the bench prints are only as good as the code that counts
    them, so each module is checked against known input: the summary
    statistics, the /proc parsers, the transfer sets (interleaving, nonces,
    packed requests, lookup by hash), the ceiling, a load run against an
    in-process fake relay and verifier (succeeded, refused and lost
    transfers, latencies, the rate and the window), the network's files,
    the targets and the JSON document. The bench against real processes
    is tests/integration/test_bench.py.
    =========================================================================
*/

#include "fixture.h"

#include <czmq.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "rpc.h"

//  --- stats -----------------------------------------------------------------------------

START_TEST (test_summary_of_known_values)
{
    double values [] = {5, 1, 3, 2, 4};
    cc_bench_summary_t summary;
    cc_bench_summarize (values, 5, &summary);
    ck_assert_uint_eq (summary.count, 5);
    ck_assert (summary.min == 1 && summary.max == 5);
    ck_assert (summary.avg == 3 && summary.p50 == 3 && summary.p99 == 5);
    ck_assert (values [0] == 1 && values [4] == 5);     //  sorted in place

    //  Nearest rank over 1..100: p50 is 50, p99 is 99 (not 100).
    double hundred [100];
    for (int index = 0; index < 100; index++)
        hundred [99 - index] = index + 1;
    cc_bench_summarize (hundred, 100, &summary);
    ck_assert (summary.p50 == 50 && summary.p99 == 99 && summary.max == 100);
    ck_assert (cc_bench_percentile (hundred, 100, 100) == 100);
    ck_assert (cc_bench_percentile (hundred, 100, 0.5) == 1);

    //  Nothing measured: every field 0.
    summary.max = 7;
    cc_bench_summarize (NULL, 0, &summary);
    ck_assert_uint_eq (summary.count, 0);
    ck_assert (summary.min == 0 && summary.max == 0 && summary.p99 == 0);
    ck_assert (cc_bench_percentile (NULL, 0, 50) == 0);
}
END_TEST

//  --- proc ------------------------------------------------------------------------------

START_TEST (test_proc_parsers)
{
    //  comm with spaces and parentheses: the fields count from the last ')'.
    const char *stat = "4242 (certchain (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
                       "250 75 0 0 20 0 5 0 100 200000000 3000";
    uint64_t ticks = 0;
    ck_assert_int_eq (cc_bench_proc_parse_stat (stat, &ticks), 0);
    ck_assert_uint_eq (ticks, 325);
    ck_assert_int_eq (cc_bench_proc_parse_stat ("4242 certchain S 1", &ticks),
                      CC_E_MALFORMED);
    ck_assert_int_eq (cc_bench_proc_parse_stat ("4242 (x) S 1 2 3", &ticks), CC_E_MALFORMED);
    ck_assert_int_eq (cc_bench_proc_parse_stat ("4242 (x) S 1 2 3 4 5 6 7 8 9 10 ab cd",
                                                &ticks), CC_E_MALFORMED);

    const char *status = "Name:\tcertchain-relay\nVmPeak:\t  300000 kB\nVmHWM:\t   40960 kB\n"
                         "VmRSS:\t   20480 kB\nThreads:\t5\n";
    uint64_t rss = 0, hwm = 0;
    ck_assert_int_eq (cc_bench_proc_parse_status (status, &rss, &hwm), 0);
    ck_assert_uint_eq (rss, 20480);
    ck_assert_uint_eq (hwm, 40960);
    //  A zombie has no memory lines: 0, not an error.
    ck_assert_int_eq (cc_bench_proc_parse_status ("Name:\tz\nState:\tZ\n", &rss, &hwm), 0);
    ck_assert_uint_eq (rss, 0);
    ck_assert_uint_eq (hwm, 0);
    ck_assert_int_eq (cc_bench_proc_parse_status ("VmRSS:\t12 MB\n", &rss, &hwm),
                      CC_E_MALFORMED);
    ck_assert_int_eq (cc_bench_proc_parse_status ("VmRSS:\tlots kB\n", &rss, &hwm),
                      CC_E_MALFORMED);

    //  /proc/stat: busy = user nice system irq softirq steal; + idle iowait.
    uint64_t busy = 0, total = 0;
    ck_assert_int_eq (cc_bench_proc_parse_machine ("cpu  100 2 30 500 7 1 4 6 0 0\n"
                                                   "cpu0 50 1 15 250 3 0 2 3 0 0\n",
                                                   &busy, &total), 0);
    ck_assert_uint_eq (busy, 143);
    ck_assert_uint_eq (total, 650);
    ck_assert_int_eq (cc_bench_proc_parse_machine ("cpu  100 2 30 500\n", &busy, &total), 0);
    ck_assert_uint_eq (busy, 132);
    ck_assert_uint_eq (total, 632);
    ck_assert_int_eq (cc_bench_proc_parse_machine ("cpu0 1 2 3 4\n", &busy, &total),
                      CC_E_MALFORMED);
    ck_assert_int_eq (cc_bench_proc_parse_machine ("cpu  1 2 x\n", &busy, &total),
                      CC_E_MALFORMED);
    //  This machine's own figures move forward.
    uint64_t busy_now = 0, total_now = 0;
    ck_assert_int_eq (cc_bench_proc_machine (&busy_now, &total_now), 0);
    ck_assert_uint_gt (total_now, 0);
    ck_assert_uint_le (busy_now, total_now);
}
END_TEST

START_TEST (test_proc_read_live_and_gone)
{
    cc_bench_proc_t sample;
    //  This process: memory in use, a peak at least as high.
    //  Touch every page through a volatile pointer: an optimizer may not
    //  drop the writes (or the allocation) as unused.
    volatile char *block = (volatile char *) malloc (8 * 1024 * 1024);
    for (size_t offset = 0; offset < 8 * 1024 * 1024; offset += 4096)
        block [offset] = 1;
    ck_assert_int_eq (cc_bench_proc_read (getpid (), &sample), 0);
    ck_assert_uint_gt (sample.rss_kib, 8 * 1024);
    ck_assert_uint_ge (sample.hwm_kib, sample.rss_kib);
    ck_assert (sample.cpu_s >= 0);
    free ((void *) block);
    ck_assert (cc_bench_proc_self_cpu () > 0);

    //  A child that exited and was reaped is gone.
    pid_t child = fork ();
    if (child == 0)
        _exit (0);
    waitpid (child, NULL, 0);
    ck_assert_int_eq (cc_bench_proc_read (child, &sample), CC_E_NOT_FOUND);
}
END_TEST

//  --- workload ------------------------------------------------------------------------------

//  Unpacks request batch of set and checks it; returns its envelopes' count.
static size_t
s_check_request (cc_bench_txset_t *set, size_t batch, cc_bench_accounts_t *accounts,
                 size_t first, size_t span, uint64_t *expected_nonces)
{
    size_t size = 0;
    const uint8_t *data = cc_bench_txset_request (set, batch, &size);
    int code = 0;
    Certchain__Request *request = (Certchain__Request *) cc_codec_unpack (
        &certchain__request__descriptor, data, size, CC_MAX_MESSAGE_SIZE, &code);
    ck_assert_ptr_nonnull (request);
    ck_assert_uint_eq (request->id, batch + 1);
    ck_assert_int_eq (request->kind_case, CERTCHAIN__REQUEST__KIND_SUBMIT_TX_BATCH);
    size_t count = request->submit_tx_batch->n_txs;
    ck_assert_uint_eq (count, cc_bench_txset_batch_count (set, batch));
    for (size_t offset = 0; offset < count; offset++) {
        size_t index = cc_bench_txset_batch_first (set, batch) + offset;
        cc_reason_t reason;
        cc_tx_t *tx = cc_tx_from_envelope (request->submit_tx_batch->txs [offset], &reason);
        ck_assert_ptr_nonnull (tx);
        ck_assert_int_eq (cc_tx_open (tx, FIXTURE_CHAIN, false, &reason), 0);
        //  Interleaved senders, each one's nonces in order without gaps.
        size_t sender = first + index % span;
        ck_assert_mem_eq (cc_tx_signer (tx),
                          cc_bench_accounts_publics (accounts) + sender * CC_PUBKEY_SIZE,
                          CC_PUBKEY_SIZE);
        ck_assert_uint_eq (cc_tx_nonce (tx), ++expected_nonces [sender]);
        const Certchain__TxBody *body = cc_tx_body (tx);
        ck_assert_int_eq (body->payload_case, CERTCHAIN__TX_BODY__PAYLOAD_TRANSFER);
        ck_assert_uint_eq (body->transfer->amount, 1);
        ck_assert_mem_eq (cc_tx_hash (tx), cc_bench_txset_hash (set, index), CC_HASH_SIZE);
        size_t found = SIZE_MAX;
        ck_assert_int_eq (cc_bench_txset_find (set, cc_tx_hash (tx), &found), 0);
        ck_assert_uint_eq (found, index);
        cc_tx_destroy (&tx);
    }
    cc_codec_free ((ProtobufCMessage **) &request);
    return count;
}

START_TEST (test_transfer_sets)
{
    cc_bench_accounts_t *accounts = cc_bench_accounts_new (5);
    ck_assert_ptr_nonnull (accounts);
    ck_assert_uint_eq (cc_bench_accounts_size (accounts), 5);
    uint64_t expected [5] = {0};
    //  10 transfers from accounts 1..3 in requests of 4: 4, 4, 2.
    cc_reason_t reason;
    cc_reason_clear (&reason);
    cc_bench_txset_t *set = cc_bench_txset_new (accounts, 1, 3, FIXTURE_CHAIN, 10, 4, 3,
                                                &reason);
    ck_assert_ptr_nonnull (set);
    ck_assert_uint_eq (cc_bench_txset_size (set), 10);
    ck_assert_uint_eq (cc_bench_txset_batches (set), 3);
    ck_assert_uint_eq (cc_bench_txset_batch_count (set, 2), 2);
    size_t total = 0;
    for (size_t batch = 0; batch < 3; batch++)
        total += s_check_request (set, batch, accounts, 1, 3, expected);
    ck_assert_uint_eq (total, 10);
    //  The accounts moved past the nonces used; 0 and 4 untouched.
    ck_assert_uint_eq (cc_bench_accounts_nonce (accounts, 0), 0);
    ck_assert_uint_eq (cc_bench_accounts_nonce (accounts, 1), 4);
    ck_assert_uint_eq (cc_bench_accounts_nonce (accounts, 2), 3);
    ck_assert_uint_eq (cc_bench_accounts_nonce (accounts, 3), 3);
    ck_assert_uint_eq (cc_bench_accounts_nonce (accounts, 4), 0);
    uint8_t unknown [CC_HASH_SIZE];
    memset (unknown, 0xab, sizeof (unknown));
    size_t index = 99;
    ck_assert_int_eq (cc_bench_txset_find (set, unknown, &index), CC_E_NOT_FOUND);
    ck_assert_uint_eq (index, 99);
    cc_bench_txset_destroy (&set);
    ck_assert_ptr_null (set);
    cc_bench_txset_destroy (&set);

    //  A second set continues every sender's nonces.
    set = cc_bench_txset_new (accounts, 1, 3, FIXTURE_CHAIN, 3, 10, 1, &reason);
    ck_assert_ptr_nonnull (set);
    s_check_request (set, 0, accounts, 1, 3, expected);
    cc_bench_txset_destroy (&set);

    //  Refused: an empty or out-of-range account span, nothing to send.
    cc_reason_clear (&reason);
    ck_assert_ptr_null (cc_bench_txset_new (accounts, 3, 3, FIXTURE_CHAIN, 10, 4, 1, &reason));
    ck_assert_int_eq (reason.code, CC_E_INVALID_ARG);
    cc_reason_clear (&reason);
    ck_assert_ptr_null (cc_bench_txset_new (accounts, 0, 0, FIXTURE_CHAIN, 10, 4, 1, &reason));
    ck_assert_int_eq (reason.code, CC_E_INVALID_ARG);
    cc_reason_clear (&reason);
    ck_assert_ptr_null (cc_bench_txset_new (accounts, 0, 5, FIXTURE_CHAIN, 0, 4, 1, &reason));
    ck_assert_int_eq (reason.code, CC_E_INVALID_ARG);
    cc_bench_accounts_destroy (&accounts);
    ck_assert_ptr_null (accounts);
}
END_TEST

START_TEST (test_funding_set)
{
    cc_bench_accounts_t *accounts = cc_bench_accounts_new (7);
    cc_keypair_t *payer = fixture_keypair (1);
    cc_reason_t reason;
    cc_bench_txset_t *set = cc_bench_txset_new_funding (accounts, payer, 41, 5000,
                                                        FIXTURE_CHAIN, 3, &reason);
    ck_assert_ptr_nonnull (set);
    ck_assert_uint_eq (cc_bench_txset_size (set), 7);
    ck_assert_uint_eq (cc_bench_txset_batches (set), 3);
    for (size_t batch = 0; batch < 3; batch++) {
        size_t size = 0;
        const uint8_t *data = cc_bench_txset_request (set, batch, &size);
        int code = 0;
        Certchain__Request *request = (Certchain__Request *) cc_codec_unpack (
            &certchain__request__descriptor, data, size, CC_MAX_MESSAGE_SIZE, &code);
        ck_assert_ptr_nonnull (request);
        for (size_t offset = 0; offset < request->submit_tx_batch->n_txs; offset++) {
            size_t index = cc_bench_txset_batch_first (set, batch) + offset;
            cc_tx_t *tx = cc_tx_from_envelope (request->submit_tx_batch->txs [offset],
                                               &reason);
            ck_assert_int_eq (cc_tx_open (tx, FIXTURE_CHAIN, false, &reason), 0);
            ck_assert_mem_eq (cc_tx_signer (tx), cc_keypair_public (payer), CC_PUBKEY_SIZE);
            ck_assert_uint_eq (cc_tx_nonce (tx), 42 + index);
            ck_assert_uint_eq (cc_tx_body (tx)->transfer->amount, 5000);
            ck_assert_mem_eq (cc_tx_body (tx)->transfer->to.data,
                              cc_bench_accounts_publics (accounts) + index * CC_PUBKEY_SIZE,
                              CC_PUBKEY_SIZE);
            cc_tx_destroy (&tx);
        }
        cc_codec_free ((ProtobufCMessage **) &request);
    }
    //  The accounts' own nonces do not move: they sent nothing.
    for (size_t index = 0; index < 7; index++)
        ck_assert_uint_eq (cc_bench_accounts_nonce (accounts, index), 0);
    cc_bench_txset_destroy (&set);
    cc_keypair_destroy (&payer);
    cc_bench_accounts_destroy (&accounts);
}
END_TEST

//  --- ceiling --------------------------------------------------------------------------------

START_TEST (test_ceiling)
{
    cc_bench_ceiling_t ceiling;
    ck_assert_int_eq (cc_bench_ceiling_measure (2, 100, &ceiling), 0);
    ck_assert_uint_eq (ceiling.threads, 2);
    //  Some verifications happened (valgrind runs them ~50 times slower,
    //  so no absolute rate is asserted).
    ck_assert (ceiling.one_core > 0);
    ck_assert (ceiling.all_cores > 0);
    ck_assert (ceiling.all_cores_one_signature > 0);
    ck_assert_uint_gt (ceiling.signatures, 1);
    ck_assert (ceiling.duration_s == 0.1);
    ceiling.all_cores = 21000;
    ck_assert (cc_bench_ceiling_tx (&ceiling, 4, 1) == 4200);
    ck_assert (cc_bench_ceiling_tx (&ceiling, 1, 1) == 10500);
    ck_assert (cc_bench_ceiling_tx (&ceiling, 0, 1) == 21000);
    ck_assert (cc_bench_ceiling_tx (&ceiling, 0, 0) == 0);
}
END_TEST

//  --- load against a fake relay and verifier -----------------------------------------------

//  How the fake network behaves.
typedef struct {
    size_t refuse_every;            //  refuse each transfer whose index % this == 1 (0: none)
    size_t lose_index;              //  accept but never commit this index (SIZE_MAX: none)
    size_t block_size;              //  transfers per block
    uint64_t start_height;          //  the verifier's height before the run
} s_fake_opts_t;

//  The fake: a ROUTER "relay" that answers SubmitTxBatch, a ROUTER
//  "verifier" that answers GetStatus and GetBlock with blocks made of
//  what the relay accepted. Runs as an actor; endpoints sent on start.
static void
s_fake_actor (zsock_t *pipe, void *argument)
{
    s_fake_opts_t *opts = (s_fake_opts_t *) argument;
    zsock_t *relay = zsock_new_router ("tcp://127.0.0.1:*");
    zsock_t *verifier = zsock_new_router ("tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zsock_send (pipe, "ss", zsock_endpoint (relay), zsock_endpoint (verifier));
    zlistx_t *pending = zlistx_new ();          //  accepted envelopes, packed
    zlistx_set_destructor (pending, (zlistx_destructor_fn *) zchunk_destroy);
    uint64_t height = opts->start_height;
    size_t seen = 0;
    zpoller_t *poller = zpoller_new (pipe, relay, verifier, NULL);
    while (true) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, 50);
        if (which == pipe || zpoller_terminated (poller))
            break;
        if (!which)
            continue;
        zframe_t *identity = NULL;
        int code = 0;
        Certchain__Request *request = cc_rpc_recv (which, &identity, CC_MAX_MESSAGE_SIZE,
                                                   &code);
        if (!request)
            continue;
        Certchain__Reply reply = CERTCHAIN__REPLY__INIT;
        reply.id = request->id;
        if (which == relay) {
            size_t count = request->submit_tx_batch->n_txs;
            Certchain__TxResult *results = (Certchain__TxResult *) calloc (
                count, sizeof (Certchain__TxResult));
            Certchain__TxResult **pointers = (Certchain__TxResult **) calloc (
                count, sizeof (Certchain__TxResult *));
            Certchain__Error *errors = (Certchain__Error *) calloc (count,
                                                                    sizeof (Certchain__Error));
            for (size_t offset = 0; offset < count; offset++, seen++) {
                certchain__tx_result__init (&results [offset]);
                pointers [offset] = &results [offset];
                if (opts->refuse_every && seen % opts->refuse_every == 1) {
                    certchain__error__init (&errors [offset]);
                    cc_rpc_error_set (&errors [offset], CC_E_NONCE_GAP, "gap");
                    errors [offset].name = (char *) "NONCE_GAP";
                    results [offset].error = &errors [offset];
                    continue;
                }
                if (seen == opts->lose_index)
                    continue;
                const Certchain__Signed *envelope = request->submit_tx_batch->txs [offset];
                size_t size = certchain__signed__get_packed_size (envelope);
                zchunk_t *chunk = zchunk_new (NULL, size);
                certchain__signed__pack (envelope, zchunk_data (chunk));
                zchunk_set (chunk, zchunk_data (chunk), size);
                zlistx_add_end (pending, chunk);
            }
            Certchain__SubmitResult submit = CERTCHAIN__SUBMIT_RESULT__INIT;
            submit.n_results = count;
            submit.results = pointers;
            reply.kind_case = CERTCHAIN__REPLY__KIND_SUBMIT_RESULT;
            reply.submit_result = &submit;
            cc_rpc_reply (relay, identity, &reply);
            free (results);
            free (pointers);
            free (errors);
        }
        else
        if (request->kind_case == CERTCHAIN__REQUEST__KIND_GET_STATUS) {
            Certchain__Status status = CERTCHAIN__STATUS__INIT;
            status.height = height;
            reply.kind_case = CERTCHAIN__REPLY__KIND_STATUS;
            reply.status = &status;
            cc_rpc_reply (verifier, identity, &reply);
        }
        else
        if (request->get_block->height != height + 1 || zlistx_size (pending) == 0)
            cc_rpc_reply_error (verifier, identity, request->id, CC_E_NOT_FOUND, "not yet");
        else {
            //  A block of what is pending; only its txs matter to the bench.
            size_t count = zlistx_size (pending) < opts->block_size ? zlistx_size (pending)
                                                                     : opts->block_size;
            Certchain__Signed **envelopes = (Certchain__Signed **) calloc (
                count, sizeof (Certchain__Signed *));
            for (size_t offset = 0; offset < count; offset++) {
                zchunk_t *chunk = (zchunk_t *) zlistx_first (pending);
                envelopes [offset] = certchain__signed__unpack (NULL, zchunk_size (chunk),
                                                                zchunk_data (chunk));
                zlistx_delete (pending, zlistx_cursor (pending));
            }
            Certchain__Block block = CERTCHAIN__BLOCK__INIT;
            block.n_txs = count;
            block.txs = envelopes;
            size_t size = certchain__block__get_packed_size (&block);
            uint8_t *data = (uint8_t *) malloc (size);
            certchain__block__pack (&block, data);
            reply.kind_case = CERTCHAIN__REPLY__KIND_BLOCK;
            reply.block = cc_bytes_view (data, size);
            cc_rpc_reply (verifier, identity, &reply);
            free (data);
            for (size_t offset = 0; offset < count; offset++)
                certchain__signed__free_unpacked (envelopes [offset], NULL);
            free (envelopes);
            height++;
        }
        zframe_destroy (&identity);
        cc_rpc_request_free (&request);
    }
    zpoller_destroy (&poller);
    zlistx_destroy (&pending);
    zsock_destroy (&relay);
    zsock_destroy (&verifier);
}

//  Runs count transfers through a fake network with fake_opts and opts.
static int
s_fake_run (s_fake_opts_t *fake_opts, size_t count, size_t batch, cc_bench_load_opts_t *opts,
            cc_bench_load_result_t *result)
{
    cc_bench_accounts_t *accounts = cc_bench_accounts_new (10);
    cc_reason_t reason;
    cc_bench_txset_t *set = cc_bench_txset_new (accounts, 0, 10, FIXTURE_CHAIN, count, batch,
                                                2, &reason);
    zactor_t *fake = zactor_new (s_fake_actor, fake_opts);
    char *relay = NULL, *verifier = NULL;
    zsock_recv (fake, "ss", &relay, &verifier);
    cc_reason_clear (&reason);
    int rc = cc_bench_load_run (set, relay, verifier, opts, result, &reason);
    zactor_destroy (&fake);
    zstr_free (&relay);
    zstr_free (&verifier);
    cc_bench_txset_destroy (&set);
    cc_bench_accounts_destroy (&accounts);
    return rc;
}

START_TEST (test_load_counts_every_transfer)
{
    s_fake_opts_t fake = {.refuse_every = 0, .lose_index = SIZE_MAX, .block_size = 70,
                          .start_height = 12};
    cc_bench_load_opts_t opts = {.window = 10000};
    cc_bench_load_result_t result;
    ck_assert_int_eq (s_fake_run (&fake, 500, 50, &opts, &result), 0);
    ck_assert_uint_eq (result.submitted, 500);
    ck_assert_uint_eq (result.committed, 500);
    ck_assert_uint_eq (result.refused + result.lost, 0);
    ck_assert_uint_eq (result.start_height, 12);
    //  500 in blocks of at most 70: at least 8 blocks, read from 13 on.
    ck_assert_uint_ge (result.blocks, 8);
    ck_assert_uint_eq (result.end_height, 12 + result.blocks);
    ck_assert_uint_eq (result.block_txs, 500);
    ck_assert_uint_le (result.max_block_txs, 70);
    ck_assert_uint_eq (result.latency_ms.count, 500);
    ck_assert (result.latency_ms.min >= 0);
    ck_assert (result.latency_ms.min <= result.latency_ms.p50);
    ck_assert (result.latency_ms.p50 <= result.latency_ms.p99);
    ck_assert (result.latency_ms.p99 <= result.latency_ms.max);
    ck_assert (result.throughput > 0);
    ck_assert (result.duration_s > 0);
    ck_assert_str_eq (result.refusal, "");
}
END_TEST

START_TEST (test_load_counts_refused_and_lost)
{
    //  Every 100th from the 2nd on is refused; transfer 250 is lost.
    s_fake_opts_t fake = {.refuse_every = 100, .lose_index = 250, .block_size = 1000};
    cc_bench_load_opts_t opts = {.window = 10000, .drain_ms = 500};
    cc_bench_load_result_t result;
    ck_assert_int_eq (s_fake_run (&fake, 400, 100, &opts, &result), 0);
    ck_assert_uint_eq (result.submitted, 400);
    ck_assert_uint_eq (result.refused, 4);
    ck_assert_uint_eq (result.lost, 1);
    ck_assert_uint_eq (result.committed, 395);
    ck_assert_uint_eq (result.latency_ms.count, 395);
    ck_assert (strstr (result.refusal, "NONCE_GAP") != NULL);
}
END_TEST

START_TEST (test_load_stalled_window_ends)
{
    //  Transfer 5 is lost and holds a window of one request: nothing more
    //  may be sent. The run ends drain_ms later instead of waiting for ever.
    s_fake_opts_t fake = {.lose_index = 5, .block_size = 1000};
    cc_bench_load_opts_t opts = {.window = 20, .drain_ms = 300};
    cc_bench_load_result_t result;
    int64_t started = cc_bench_now_us ();
    ck_assert_int_eq (s_fake_run (&fake, 200, 20, &opts, &result), 0);
    ck_assert ((cc_bench_now_us () - started) < 10 * 1000 * 1000);
    ck_assert_uint_eq (result.submitted, 20);
    ck_assert_uint_eq (result.committed, 19);
    ck_assert_uint_eq (result.lost, 1);
}
END_TEST

START_TEST (test_load_fixed_rate_is_kept)
{
    //  300 transfers at 1,000/s in requests of 10: about 0.3 s of sending.
    s_fake_opts_t fake = {.lose_index = SIZE_MAX, .block_size = 100};
    cc_bench_load_opts_t opts = {.rate = 1000};
    cc_bench_load_result_t result;
    int64_t started = cc_bench_now_us ();
    ck_assert_int_eq (s_fake_run (&fake, 300, 10, &opts, &result), 0);
    double seconds = (double) (cc_bench_now_us () - started) / 1e6;
    ck_assert_uint_eq (result.committed, 300);
    ck_assert (seconds >= 0.25);
    ck_assert_msg (result.send_rate > 800 && result.send_rate < 1250, "send rate %.0f",
                   result.send_rate);
}
END_TEST

START_TEST (test_load_window_limits_the_backlog)
{
    //  A window of one request: each waits for the commit of the one
    //  before, so there are as many blocks as requests.
    s_fake_opts_t fake = {.lose_index = SIZE_MAX, .block_size = 1000};
    cc_bench_load_opts_t opts = {.window = 20};
    cc_bench_load_result_t result;
    ck_assert_int_eq (s_fake_run (&fake, 200, 20, &opts, &result), 0);
    ck_assert_uint_eq (result.committed, 200);
    ck_assert_uint_eq (result.blocks, 10);
    ck_assert_uint_eq (result.max_block_txs, 20);
}
END_TEST

START_TEST (test_load_refuses_an_absent_verifier)
{
    cc_bench_accounts_t *accounts = cc_bench_accounts_new (2);
    cc_reason_t reason;
    cc_bench_txset_t *set = cc_bench_txset_new (accounts, 0, 2, FIXTURE_CHAIN, 4, 2, 1,
                                                &reason);
    cc_bench_load_opts_t opts = {.window = 0};
    cc_bench_load_result_t result;
    cc_reason_clear (&reason);
    //  Nothing listens there: the run cannot start.
    int rc = cc_bench_load_run (set, "tcp://127.0.0.1:9", "tcp://127.0.0.1:9", &opts, &result,
                                &reason);
    ck_assert_int_eq (rc, CC_E_TIMEOUT);
    ck_assert (strstr (cc_reason_text (&reason), "no status") != NULL);
    cc_bench_txset_destroy (&set);
    cc_bench_accounts_destroy (&accounts);
}
END_TEST

//  --- net ------------------------------------------------------------------------------------

START_TEST (test_net_files_without_processes)
{
    char *dir = fixture_tempdir ("bench-net");
    cc_bench_accounts_t *accounts = cc_bench_accounts_new (3);
    cc_bench_net_opts_t opts = {.bin_dir = dir, .work_dir = dir, .name = "t", .members = 4,
                                .accounts = cc_bench_accounts_publics (accounts),
                                .account_count = 3, .balance = 77,
                                .ca_policy = "    packets = 8\n"};
    cc_reason_t reason;
    cc_reason_clear (&reason);
    cc_bench_net_t *net = cc_bench_net_new (&opts, &reason);
    ck_assert_msg (net != NULL, "%s", cc_reason_text (&reason));
    const char *path = cc_bench_net_dir (net);
    ck_assert (strncmp (path, dir, strlen (dir)) == 0);
    char *copy = strdup (path);
    //  The genesis: one producing CA, 3 validators, the 3 accounts.
    char genesis_path [512];
    snprintf (genesis_path, sizeof (genesis_path), "%s/genesis.zpl", path);
    cc_genesis_t *genesis = cc_genesis_load (genesis_path, &reason);
    ck_assert_ptr_nonnull (genesis);
    const Certchain__Genesis *proto = cc_genesis_proto (genesis);
    ck_assert_uint_eq (proto->n_cas, 1);
    ck_assert (proto->cas [0]->produces);
    ck_assert_uint_eq (proto->n_validators, 3);
    ck_assert_uint_eq (proto->n_accounts, 3);
    ck_assert_uint_eq (proto->accounts [2]->balance, 77);
    ck_assert_str_eq (cc_genesis_chain_id (genesis),
                      cc_genesis_chain_id (cc_bench_net_genesis (net)));
    cc_genesis_destroy (&genesis);
    //  One config per process, the validators never joining or resigning.
    const char *names [] = {"relay", "ca", "validator-1", "validator-3", "verifier"};
    for (size_t index = 0; index < 5; index++) {
        char config [512];
        snprintf (config, sizeof (config), "%s/%s.zpl", path, names [index]);
        zconfig_t *tree = zconfig_load (config);
        ck_assert_msg (tree != NULL, "%s", config);
        ck_assert (strstr (zconfig_get (tree, "relay/rpc", ""), "tcp://127.0.0.1:") != NULL);
        if (strncmp (names [index], "validator", 9) == 0) {
            ck_assert_str_eq (zconfig_get (tree, "validator/join", ""), "0");
            ck_assert_str_eq (zconfig_get (tree, "validator/resign_on_stop", ""), "0");
        }
        zconfig_destroy (&tree);
    }
    char policy [512];
    snprintf (policy, sizeof (policy), "%s/ca-policy.zpl", path);
    zconfig_t *tree = zconfig_load (policy);
    ck_assert_str_eq (zconfig_get (tree, "policy/packets", ""), "8");
    zconfig_destroy (&tree);
    ck_assert_uint_eq (cc_bench_net_size (net), 0);
    ck_assert_ptr_null (cc_bench_net_dead (net));
    //  Nothing to start from: the binaries are not in dir.
    cc_reason_clear (&reason);
    ck_assert_int_eq (cc_bench_net_start (net, 1000, &reason), CC_E_IO);
    ck_assert (strstr (cc_reason_text (&reason), "certchain-relay not found") != NULL);
    cc_bench_net_destroy (&net);
    ck_assert_ptr_null (net);
    struct stat info;
    ck_assert_int_ne (stat (copy, &info), 0);       //  removed
    free (copy);

    //  Refused: more members than the bench starts.
    opts.members = 51;
    cc_reason_clear (&reason);
    ck_assert_ptr_null (cc_bench_net_new (&opts, &reason));
    ck_assert_int_eq (reason.code, CC_E_INVALID_ARG);
    cc_bench_accounts_destroy (&accounts);
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (test_net_find_bin)
{
    char *dir = fixture_tempdir ("bench-bin");
    char path [512];
    //  A build tree: DIR/tools/bench (the bench), DIR/services/relay/certchain-relay.
    snprintf (path, sizeof (path), "%s/tools", dir);
    mkdir (path, 0700);
    snprintf (path, sizeof (path), "%s/tools/bench", dir);
    mkdir (path, 0700);
    snprintf (path, sizeof (path), "%s/services", dir);
    mkdir (path, 0700);
    snprintf (path, sizeof (path), "%s/services/relay", dir);
    mkdir (path, 0700);
    snprintf (path, sizeof (path), "%s/services/relay/certchain-relay", dir);
    FILE *file = fopen (path, "w");
    fclose (file);
    char bench_dir [512];
    snprintf (bench_dir, sizeof (bench_dir), "%s/tools/bench", dir);
    //  Not executable: not found.
    ck_assert_ptr_null (cc_bench_net_find_bin (bench_dir, "certchain-relay", "services/relay"));
    chmod (path, 0755);
    char *found = cc_bench_net_find_bin (bench_dir, "certchain-relay", "services/relay");
    ck_assert_ptr_nonnull (found);
    ck_assert (strstr (found, "/services/relay/certchain-relay") != NULL);
    free (found);
    //  Installed: beside the bench.
    snprintf (path, sizeof (path), "%s/tools/bench/certchain-relay", dir);
    file = fopen (path, "w");
    fclose (file);
    chmod (path, 0755);
    found = cc_bench_net_find_bin (bench_dir, "certchain-relay", "services/relay");
    ck_assert (strstr (found, "/tools/bench/certchain-relay") != NULL);
    free (found);
    ck_assert_ptr_null (cc_bench_net_find_bin (bench_dir, "certchain-nothing", "services/x"));
    fixture_rmtree (dir);
    free (dir);
}
END_TEST

//  --- targets and report ---------------------------------------------------------------------

//  Results of a made-up run with every scenario.
static void
s_results (cc_bench_results_t *results)
{
    memset (results, 0, sizeof (*results));
    results->mode = "quick";
    snprintf (results->cpu_model, sizeof (results->cpu_model), "Test \"CPU\"");
    results->cpus = 2;
    results->buildtype = "release";
    results->ceiling.threads = 2;
    results->ceiling.one_core = 14000;
    results->ceiling.all_cores = 21000;
    const char *names [] = {"saturation-1", "saturation-4", "latency-4"};
    size_t members [] = {1, 4, 4};
    double throughput [] = {6400, 2000, 1000};
    for (size_t index = 0; index < 3; index++) {
        cc_bench_run_t *run = &results->runs [index];
        run->ran = true;
        run->name = names [index];
        run->members = members [index];
        run->verifiers = 1;
        run->load.committed = 1000;
        run->load.submitted = 1000;
        run->load.throughput = throughput [index];
        run->ceiling_tx = cc_bench_ceiling_tx (&results->ceiling, members [index], 1);
        run->ratio = run->load.throughput / run->ceiling_tx;
        run->load.latency_ms.p99 = index == 2 ? 800 : 100;
        run->process_count = 2;
        snprintf (run->processes [0].name, sizeof (run->processes [0].name), "relay");
        run->processes [0].rss_idle_mib = 30;
        run->processes [0].rss_peak_mib = index == 1 ? 300 : 100;
        snprintf (run->processes [1].name, sizeof (run->processes [1].name), "bench");
        run->processes [1].rss_idle_mib = 500;      //  the client is not held to the caps
        run->processes [1].rss_peak_mib = 900;
    }
    results->runs [2].target_rate = 1000;
    results->catchup.ran = true;
    results->catchup.tx_per_s = 16000;
    results->catchup.ceiling_tx = 21000;
    results->catchup.ratio = 16000.0 / 21000;
    results->certification.ran = true;
    results->certification.joins.joins = 2;
    results->certification.joins.certified = 2;
    results->certification.joins.join_ms.count = 2;
    results->certification.joins.join_ms.max = 2500;
    results->certification.joins.verify_ms.count = 2;
    results->certification.joins.verify_ms.max = 25;
}

START_TEST (test_targets_met_and_missed)
{
    cc_bench_results_t *results = (cc_bench_results_t *) calloc (1, sizeof (*results));
    s_results (results);
    cc_bench_targets (results);
    ck_assert_uint_eq (results->target_count, 8);
    //  saturation-1: 6400 of 10500 = 61% met; saturation-4: 2000 of 4200 = 48% missed.
    bool expected [] = {true, false, false, true, true, false, true, false};
    for (size_t index = 0; index < 8; index++) {
        ck_assert_msg (results->targets [index].known, "%s", results->targets [index].name);
        ck_assert_msg (results->targets [index].met == expected [index], "%s: %s",
                       results->targets [index].name, results->targets [index].measured);
    }
    //  The peak RSS names the process and the scenario, never the bench.
    ck_assert (strstr (results->targets [7].measured, "300.0 MiB (relay in saturation-4)"));
    ck_assert (strstr (results->targets [6].measured, "30.0 MiB"));

    //  Nothing ran: nothing known.
    memset (results, 0, sizeof (*results));
    cc_bench_targets (results);
    ck_assert_uint_eq (results->target_count, 8);
    for (size_t index = 0; index < 8; index++)
        ck_assert (!results->targets [index].known);
    free (results);
}
END_TEST

START_TEST (test_report_json_and_tables)
{
    cc_bench_results_t *results = (cc_bench_results_t *) calloc (1, sizeof (*results));
    s_results (results);
    cc_bench_targets (results);
    char *dir = fixture_tempdir ("bench-report");
    char path [512];
    snprintf (path, sizeof (path), "%s/out.json", dir);
    cc_reason_t reason;
    ck_assert_int_eq (cc_bench_report_json (results, path, &reason), 0);
    FILE *file = fopen (path, "r");
    char text [16384];
    size_t length = fread (text, 1, sizeof (text) - 1, file);
    fclose (file);
    text [length] = 0;
    const char *keys [] = {"\"mode\":\"quick\"", "\"cpu_model\":\"Test \\\"CPU\\\"\"",
                           "\"verifications_per_s_all_cores\":21000", "\"saturation-4\":{",
                           "\"succeeded\":1000", "\"latency_ms\":{", "\"p99\":800",
                           "\"catch-up\":{", "\"certification\":{", "\"targets\":[",
                           "\"met\":false", "\"ratio\":"};
    for (size_t index = 0; index < sizeof (keys) / sizeof (keys [0]); index++)
        ck_assert_msg (strstr (text, keys [index]) != NULL, "%s missing in %s", keys [index],
                       text);
    //  Refused: a file that cannot be written.
    snprintf (path, sizeof (path), "%s/no/such/dir/out.json", dir);
    cc_reason_clear (&reason);
    ck_assert_int_eq (cc_bench_report_json (results, path, &reason), CC_E_IO);

    //  The tables: one row per run, the targets with their verdict.
    char *printed = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&printed, &size);
    cc_bench_report_print (results, stream);
    fclose (stream);
    ck_assert (strstr (printed, "| saturation-1 | 1 | 1000 | 0 |") != NULL);
    ck_assert (strstr (printed, "| latency-4 (fixed rate) |") != NULL);
    ck_assert (strstr (printed, "| MISSED |") != NULL);
    ck_assert (strstr (printed, "| met |") != NULL);
    free (printed);
    fixture_rmtree (dir);
    free (dir);
    free (results);
}
END_TEST

START_TEST (test_plan_modes)
{
    cc_bench_plan_t plan;
    ck_assert_int_eq (cc_bench_plan_defaults (&plan, "full"), 0);
    ck_assert_uint_ge (plan.saturation_1_txs, 200000);
    ck_assert_uint_eq (plan.burst_candidates, 50);
    ck_assert (plan.run [CC_BENCH_CATCHUP] && plan.run [CC_BENCH_CERTIFICATION]);
    ck_assert_int_eq (cc_bench_plan_defaults (&plan, "quick"), 0);
    ck_assert (plan.saturation_1_txs < 200000);
    ck_assert (plan.run [CC_BENCH_LATENCY_4]);
    ck_assert_int_eq (cc_bench_plan_defaults (&plan, "smoke"), 0);
    ck_assert (plan.run [CC_BENCH_SATURATION_1] && !plan.run [CC_BENCH_SATURATION_4]);
    ck_assert_uint_le (plan.saturation_1_txs, 1000);
    ck_assert_int_eq (cc_bench_plan_defaults (&plan, "huge"), CC_E_INVALID_ARG);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("bench");
    TCase *tcase = tcase_create ("modules");
    tcase_set_timeout (tcase, 60);
    tcase_add_test (tcase, test_summary_of_known_values);
    tcase_add_test (tcase, test_proc_parsers);
    tcase_add_test (tcase, test_proc_read_live_and_gone);
    tcase_add_test (tcase, test_transfer_sets);
    tcase_add_test (tcase, test_funding_set);
    tcase_add_test (tcase, test_ceiling);
    tcase_add_test (tcase, test_load_counts_every_transfer);
    tcase_add_test (tcase, test_load_counts_refused_and_lost);
    tcase_add_test (tcase, test_load_stalled_window_ends);
    tcase_add_test (tcase, test_load_fixed_rate_is_kept);
    tcase_add_test (tcase, test_load_window_limits_the_backlog);
    tcase_add_test (tcase, test_load_refuses_an_absent_verifier);
    tcase_add_test (tcase, test_net_files_without_processes);
    tcase_add_test (tcase, test_net_find_bin);
    tcase_add_test (tcase, test_targets_met_and_missed);
    tcase_add_test (tcase, test_report_json_and_tables);
    tcase_add_test (tcase, test_plan_modes);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
