/*  =========================================================================
    test_challenge - the join protocol's timed challenge: issue, solve,
    verify, the signed answer, and every refusal with its specific code

    Most tests use small parameters (8 packets, 8 bits, 1 MiB) so they run
    in milliseconds; one test runs DESIGN's defaults and prints the timings.
    =========================================================================
*/

#include "challenge.h"
#include "fixture.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  CA clock at issue in every test.
#define S_NOW 1700000000000ULL

//  Small, fast parameters. The deadline is long so that sanitizer and
//  valgrind runs never hit the solver's own time limit.
static cc_challenge_params_t
s_small_params (void)
{
    cc_challenge_params_t params = cc_challenge_params_default ();
    params.packets = 8;
    params.difficulty_bits = 8;
    params.argon2_memory_kib = 1024;
    params.sample_size = 4;
    params.deadline_ms = 600000;
    return params;
}

//  Issues a challenge with params to key and solves it on 2 threads.
static void
s_issue_and_solve (const cc_challenge_params_t *params, cc_keypair_t *key,
                   Certchain__Challenge **challenge_p, Certchain__ChallengeResponse **response_p,
                   cc_challenge_stats_t *stats)
{
    *challenge_p = cc_challenge_issue (params, cc_keypair_public (key), S_NOW);
    ck_assert_ptr_nonnull (*challenge_p);
    ck_assert_int_eq (cc_challenge_solve (*challenge_p, cc_keypair_public (key), 2, response_p,
                                          stats),
                      0);
    ck_assert_ptr_nonnull (*response_p);
}

//  Replaces packet index's x by different bytes and finds a nonce that
//  makes the proof of work hold for the forged x, as a cheater would.
static void
s_forge_packet (Certchain__ChallengeResponse *response, const Certchain__Challenge *challenge,
                const uint8_t *node_key, size_t index)
{
    Certchain__PacketAnswer *answer = response->answers [index];
    for (size_t byte = 0; byte < CC_CHALLENGE_X_SIZE; byte++)
        answer->x.data [byte] ^= 0x5a;
    uint64_t nonce = 0;
    while (!cc_challenge_pow_valid (answer->x.data, node_key, nonce, challenge->difficulty_bits))
        nonce++;
    answer->nonce = nonce;
}

//  --- Parameters and issue ------------------------------------------------------

START_TEST (test_params_and_issue)
{
    cc_challenge_params_t params = cc_challenge_params_default ();
    ck_assert_int_eq (params.packets, 32);
    ck_assert_int_eq (params.difficulty_bits, 16);
    ck_assert_int_eq (params.argon2_memory_kib, 8192);
    ck_assert_int_eq (params.argon2_ops, 1);
    ck_assert_int_eq (params.sample_size, 4);
    ck_assert_uint_eq (params.deadline_ms, 5000);
    cc_reason_t reason;
    ck_assert_int_eq (cc_challenge_params_check (&params, &reason), 0);

    cc_keypair_t *key = fixture_keypair (1);
    Certchain__Challenge *challenge =
        cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    ck_assert_ptr_nonnull (challenge);
    ck_assert_int_eq (cc_challenge_check (challenge, &reason), 0);
    ck_assert_uint_eq (challenge->id.len, CC_CHALLENGE_ID_SIZE);
    ck_assert_mem_eq (challenge->node.data, cc_keypair_public (key), CC_PUBKEY_SIZE);
    ck_assert_uint_eq (challenge->n_seeds, 32);
    for (size_t index = 0; index < challenge->n_seeds; index++) {
        ck_assert_uint_eq (challenge->seeds [index].len, CC_CHALLENGE_SEED_SIZE);
        if (index > 0)
            ck_assert (memcmp (challenge->seeds [index].data, challenge->seeds [0].data,
                               CC_CHALLENGE_SEED_SIZE)
                       != 0);
    }
    ck_assert_uint_eq (challenge->issued_ms, S_NOW);
    ck_assert_uint_eq (challenge->deadline_ms, S_NOW + 5000);
    ck_assert_uint_eq (challenge->difficulty_bits, 16);
    ck_assert_uint_eq (challenge->argon2_memory_kib, 8192);
    ck_assert_uint_eq (challenge->argon2_ops, 1);
    ck_assert_uint_eq (challenge->sample_size, 4);

    //  Fresh randomness each time.
    Certchain__Challenge *second = cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    ck_assert (!cc_bytes_equal (challenge->id, second->id));
    cc_challenge_free (&second);
    cc_challenge_free (&challenge);
    ck_assert_ptr_null (challenge);
    cc_challenge_free (&challenge);     //  safe on NULL

    //  Each parameter out of its limits is refused, and issue refuses it.
    cc_challenge_params_t bad = params;
    bad.packets = 0;
    ck_assert_int_eq (cc_challenge_params_check (&bad, &reason), CC_E_CONFIG);
    ck_assert_ptr_nonnull (strstr (reason.text, "packets"));
    ck_assert_ptr_null (cc_challenge_issue (&bad, cc_keypair_public (key), S_NOW));
    bad = params;
    bad.packets = CC_CHALLENGE_MAX_PACKETS + 1;
    ck_assert_int_eq (cc_challenge_params_check (&bad, &reason), CC_E_CONFIG);
    bad = params;
    bad.difficulty_bits = CC_CHALLENGE_MAX_DIFFICULTY + 1;
    ck_assert_int_eq (cc_challenge_params_check (&bad, &reason), CC_E_CONFIG);
    bad = params;
    bad.argon2_memory_kib = 4;
    ck_assert_int_eq (cc_challenge_params_check (&bad, &reason), CC_E_CONFIG);
    bad = params;
    bad.argon2_ops = 0;
    ck_assert_int_eq (cc_challenge_params_check (&bad, &reason), CC_E_CONFIG);
    bad = params;
    bad.sample_size = 0;
    ck_assert_int_eq (cc_challenge_params_check (&bad, &reason), CC_E_CONFIG);
    bad = params;
    bad.deadline_ms = 0;
    ck_assert_int_eq (cc_challenge_params_check (&bad, &reason), CC_E_CONFIG);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_expired)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = s_small_params ();
    params.deadline_ms = 5000;
    Certchain__Challenge *challenge =
        cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    ck_assert (!cc_challenge_expired (challenge, S_NOW));
    ck_assert (!cc_challenge_expired (challenge, S_NOW + 5000));
    ck_assert (cc_challenge_expired (challenge, S_NOW + 5001));
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
}
END_TEST

//  --- Honest answers ------------------------------------------------------------

START_TEST (test_honest_answer_passes)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge;
    Certchain__ChallengeResponse *response;
    cc_challenge_stats_t stats;
    s_issue_and_solve (&params, key, &challenge, &response, &stats);
    ck_assert_uint_eq (stats.argon2_evaluations, 8);
    ck_assert_uint_ge (stats.hashes, 8);
    ck_assert_uint_eq (stats.threads, 2);

    //  Answers in packet order: each x is that packet's Argon2id.
    ck_assert_mem_eq (response->challenge_id.data, challenge->id.data, CC_CHALLENGE_ID_SIZE);
    ck_assert_mem_eq (response->node.data, cc_keypair_public (key), CC_PUBKEY_SIZE);
    ck_assert_uint_eq (response->n_answers, 8);
    for (size_t index = 0; index < response->n_answers; index++) {
        uint8_t x [CC_CHALLENGE_X_SIZE];
        ck_assert_int_eq (cc_challenge_packet_x (challenge, cc_keypair_public (key), index, x),
                          0);
        ck_assert_mem_eq (response->answers [index]->x.data, x, CC_CHALLENGE_X_SIZE);
        ck_assert (cc_challenge_pow_valid (x, cc_keypair_public (key),
                                           response->answers [index]->nonce, 8));
    }

    cc_challenge_verdict_t verdict;
    cc_reason_t reason;
    uint64_t now = S_NOW + 400;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key), now,
                                           &verdict, &reason),
                      0);
    ck_assert_int_eq (reason.code, 0);
    ck_assert_uint_eq (verdict.elapsed_ms, 400);
    ck_assert_uint_eq (verdict.argon2_checked, 4);
    ck_assert (verdict.score.hashes_per_second > 0);
    ck_assert (verdict.score.argon2_mib_per_second > 0);
    ck_assert_uint_eq (verdict.score.elapsed_ms, 400);
    //  8 packets * 2^8 expected hashes in 0.4 s; 8 MiB filled in 0.4 s.
    ck_assert_double_eq_tol (verdict.score.hashes_per_second, 8 * 256 / 0.4, 1e-6);
    ck_assert_double_eq_tol (verdict.score.argon2_mib_per_second, 8 * 1.0 / 0.4, 1e-9);
    ck_assert (verdict.verify_ms >= 0);

    //  One thread per CPU (threads = 0) gives the same answers.
    Certchain__ChallengeResponse *again = NULL;
    ck_assert_int_eq (cc_challenge_solve (challenge, cc_keypair_public (key), 0, &again, &stats),
                      0);
    ck_assert_uint_ge (stats.threads, 1);
    ck_assert_int_eq (cc_challenge_verify (challenge, again, cc_keypair_public (key), now, NULL,
                                           NULL),
                      0);
    cc_challenge_response_free (&again);
    cc_challenge_response_free (&response);
    ck_assert_ptr_null (response);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
}
END_TEST

//  The challenge and the signed answer cross the wire as protobuf.
START_TEST (test_wire_round_trip)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *issued =
        cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    uint8_t *data;
    size_t size;
    ck_assert_int_eq (cc_codec_pack (&issued->base, CC_MAX_MESSAGE_SIZE, &data, &size), 0);
    int code;
    Certchain__Challenge *received = (Certchain__Challenge *) cc_codec_unpack (
        &certchain__challenge__descriptor, data, size, CC_MAX_MESSAGE_SIZE, &code);
    free (data);
    ck_assert_ptr_nonnull (received);

    //  The candidate solves what it received and signs the answer.
    Certchain__ChallengeResponse *response = NULL;
    ck_assert_int_eq (cc_challenge_solve (received, cc_keypair_public (key), 1, &response, NULL),
                      0);
    Certchain__Signed envelope;
    ck_assert_int_eq (cc_signed_make (key, CC_DOMAIN_JOIN, FIXTURE_CHAIN, &response->base,
                                      &envelope),
                      0);
    cc_challenge_response_free (&response);
    cc_challenge_free (&received);

    //  The CA opens and verifies it against the challenge it kept.
    cc_reason_t reason;
    Certchain__ChallengeResponse *opened = NULL;
    ck_assert_int_eq (cc_challenge_open_response (&envelope, FIXTURE_CHAIN, issued, &opened,
                                                  &reason),
                      0);
    ck_assert_int_eq (cc_challenge_verify (issued, opened, cc_keypair_public (key), S_NOW + 10,
                                           NULL, &reason),
                      0);
    cc_challenge_response_free (&opened);
    cc_signed_clear (&envelope);
    cc_challenge_free (&issued);
    cc_keypair_destroy (&key);
}
END_TEST

//  --- Refusals --------------------------------------------------------------------

START_TEST (test_wrong_nonce_refused)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge;
    Certchain__ChallengeResponse *response;
    s_issue_and_solve (&params, key, &challenge, &response, NULL);
    //  Move packet 7's nonce to one whose proof of work fails.
    Certchain__PacketAnswer *answer = response->answers [7];
    do
        answer->nonce++;
    while (cc_challenge_pow_valid (answer->x.data, cc_keypair_public (key), answer->nonce, 8));
    cc_reason_t reason;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           S_NOW + 1, NULL, &reason),
                      CC_E_POW_INVALID);
    ck_assert_int_eq (reason.code, CC_E_POW_INVALID);
    ck_assert_str_eq (reason.text, "proof of work wrong at packet 7");
    cc_challenge_response_free (&response);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_forged_x_caught_by_full_sample)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = s_small_params ();
    params.sample_size = params.packets;
    Certchain__Challenge *challenge;
    Certchain__ChallengeResponse *response;
    s_issue_and_solve (&params, key, &challenge, &response, NULL);
    s_forge_packet (response, challenge, cc_keypair_public (key), 3);
    //  The forged packet's proof of work holds: only Argon2 can catch it.
    ck_assert (cc_challenge_pow_valid (response->answers [3]->x.data, cc_keypair_public (key),
                                       response->answers [3]->nonce, 8));
    cc_reason_t reason;
    cc_challenge_verdict_t verdict;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           S_NOW + 1, &verdict, &reason),
                      CC_E_ARGON2_MISMATCH);
    ck_assert_str_eq (reason.text, "Argon2 result wrong at packet 3");
    ck_assert (verdict.score.hashes_per_second == 0);

    //  A sample larger than N means every packet too.
    challenge->sample_size = 1000;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           S_NOW + 1, NULL, &reason),
                      CC_E_ARGON2_MISMATCH);
    ck_assert_str_eq (reason.text, "Argon2 result wrong at packet 3");
    cc_challenge_response_free (&response);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_sampling_catches_forgery)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = s_small_params ();
    params.sample_size = params.packets / 2;
    params.argon2_memory_kib = 64;      //  many verifications: keep each cheap
    Certchain__Challenge *challenge;
    Certchain__ChallengeResponse *response;
    s_issue_and_solve (&params, key, &challenge, &response, NULL);
    const uint8_t *node = cc_keypair_public (key);
    cc_reason_t reason;

    //  One forged packet, sample 4 of 8: each run catches it with
    //  probability 1/2, so a fixed sample would show as all or nothing
    //  (40 honest draws end all-or-nothing with probability 2^-39).
    uint8_t honest_x [CC_CHALLENGE_X_SIZE];
    memcpy (honest_x, response->answers [6]->x.data, CC_CHALLENGE_X_SIZE);
    uint64_t honest_nonce = response->answers [6]->nonce;
    s_forge_packet (response, challenge, node, 6);
    int caught = 0;
    for (int run = 0; run < 40; run++)
        if (cc_challenge_verify (challenge, response, node, S_NOW + 1, NULL, &reason)
            == CC_E_ARGON2_MISMATCH)
            caught++;
    printf ("sampling: 1 of 8 packets forged, sample 4: caught in %d of 40 runs\n", caught);
    ck_assert_int_gt (caught, 0);
    ck_assert_int_lt (caught, 40);
    memcpy (response->answers [6]->x.data, honest_x, CC_CHALLENGE_X_SIZE);
    response->answers [6]->nonce = honest_nonce;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, node, S_NOW + 1, NULL, &reason),
                      0);

    //  Half the packets forged (0..3) with a sample of half: one run misses
    //  with probability 1 / C(8,4) = 1/70, twenty runs all miss ~1e-37.
    for (size_t index = 0; index < 4; index++)
        s_forge_packet (response, challenge, node, index);
    caught = 0;
    for (int run = 0; run < 20; run++) {
        int rc = cc_challenge_verify (challenge, response, node, S_NOW + 1, NULL, &reason);
        ck_assert (rc == 0 || rc == CC_E_ARGON2_MISMATCH);
        if (rc == CC_E_ARGON2_MISMATCH)
            caught++;
    }
    printf ("sampling: 4 of 8 packets forged, sample 4: caught in %d of 20 runs\n", caught);
    ck_assert_int_ge (caught, 1);

    //  With more forged packets (5) than unsampled ones (8 - 4), every
    //  sample must hit one: every run catches it.
    s_forge_packet (response, challenge, node, 4);
    for (int run = 0; run < 20; run++)
        ck_assert_int_eq (cc_challenge_verify (challenge, response, node, S_NOW + 1, NULL,
                                               &reason),
                          CC_E_ARGON2_MISMATCH);
    cc_challenge_response_free (&response);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_sample_judged_in_draw_order)
{
    //  The sample is computed on two threads but judged as if one by one:
    //  the first wrong packet drawn is the one named, and only the packets
    //  drawn before it count as checked. Two forged packets, every packet
    //  sampled: each is drawn first about half the time.
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = s_small_params ();
    params.sample_size = params.packets;
    params.argon2_memory_kib = 64;
    Certchain__Challenge *challenge;
    Certchain__ChallengeResponse *response;
    s_issue_and_solve (&params, key, &challenge, &response, NULL);
    const uint8_t *node = cc_keypair_public (key);
    s_forge_packet (response, challenge, node, 2);
    s_forge_packet (response, challenge, node, 5);
    int named_2 = 0, named_5 = 0;
    bool checked_seen [8] = {false};
    for (int run = 0; run < 30; run++) {
        cc_reason_t reason;
        cc_challenge_verdict_t verdict;
        ck_assert_int_eq (cc_challenge_verify (challenge, response, node, S_NOW + 1, &verdict,
                                               &reason),
                          CC_E_ARGON2_MISMATCH);
        if (strcmp (reason.text, "Argon2 result wrong at packet 2") == 0)
            named_2++;
        else {
            ck_assert_str_eq (reason.text, "Argon2 result wrong at packet 5");
            named_5++;
        }
        //  Only the honest packets drawn before it count: at most six.
        ck_assert_uint_le (verdict.argon2_checked, params.packets - 2);
        checked_seen [verdict.argon2_checked] = true;
    }
    //  Each is named first with probability 1/2: always the same one in
    //  30 runs has probability 2^-29.
    ck_assert_int_gt (named_2, 0);
    ck_assert_int_gt (named_5, 0);
    //  How many honest packets come first varies with the draw (0 to 6):
    //  a count of every packet computed, or of none, would be one value.
    int values = 0;
    for (size_t count = 0; count < 8; count++)
        values += checked_seen [count];
    ck_assert_int_ge (values, 2);
    cc_challenge_response_free (&response);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_deadline)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = s_small_params ();
    params.deadline_ms = 5000;
    Certchain__Challenge *challenge;
    Certchain__ChallengeResponse *response;
    s_issue_and_solve (&params, key, &challenge, &response, NULL);
    cc_reason_t reason;
    //  On the deadline: in time.
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           challenge->deadline_ms, NULL, &reason),
                      0);
    //  One millisecond late: refused, though every answer is right.
    cc_challenge_verdict_t verdict;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           challenge->deadline_ms + 1, &verdict, &reason),
                      CC_E_DEADLINE_MISSED);
    ck_assert_str_eq (reason.text, "answer came 1 ms after the deadline");
    ck_assert_uint_eq (verdict.elapsed_ms, 5001);
    cc_challenge_response_free (&response);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_wrong_node_key)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_keypair_t *other = fixture_keypair (2);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge;
    Certchain__ChallengeResponse *response;
    s_issue_and_solve (&params, key, &challenge, &response, NULL);
    cc_reason_t reason;

    //  Verified as if from another node: response node differs.
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (other),
                                           S_NOW + 1, NULL, &reason),
                      CC_E_WRONG_NODE_KEY);
    //  Response claims another node.
    uint8_t saved [CC_PUBKEY_SIZE];
    memcpy (saved, response->node.data, CC_PUBKEY_SIZE);
    memcpy (response->node.data, cc_keypair_public (other), CC_PUBKEY_SIZE);
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           S_NOW + 1, NULL, &reason),
                      CC_E_WRONG_NODE_KEY);
    ck_assert_str_eq (reason.text, "answer is bound to another node key");
    //  Response and caller agree on the other node, the challenge does not.
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (other),
                                           S_NOW + 1, NULL, &reason),
                      CC_E_WRONG_NODE_KEY);
    ck_assert_str_eq (reason.text, "challenge was issued to another node key");
    memcpy (response->node.data, saved, CC_PUBKEY_SIZE);

    //  Another node cannot solve this node's challenge.
    Certchain__ChallengeResponse *stolen = NULL;
    ck_assert_int_eq (cc_challenge_solve (challenge, cc_keypair_public (other), 1, &stolen, NULL),
                      CC_E_WRONG_NODE_KEY);
    ck_assert_ptr_null (stolen);

    //  Signed envelopes: by the node, accepted; by another key, refused.
    Certchain__Signed envelope;
    Certchain__ChallengeResponse *opened = NULL;
    ck_assert_int_eq (cc_signed_make (key, CC_DOMAIN_JOIN, FIXTURE_CHAIN, &response->base,
                                      &envelope),
                      0);
    ck_assert_int_eq (cc_challenge_open_response (&envelope, FIXTURE_CHAIN, challenge, &opened,
                                                  &reason),
                      0);
    ck_assert_ptr_nonnull (opened);
    cc_challenge_response_free (&opened);
    //  The right signature on another chain or for another kind is no signature.
    ck_assert_int_eq (cc_challenge_open_response (&envelope, "other-chain", challenge, &opened,
                                                  &reason),
                      CC_E_BAD_SIGNATURE);
    envelope.body.data [0] ^= 1;
    ck_assert_int_eq (cc_challenge_open_response (&envelope, FIXTURE_CHAIN, challenge, &opened,
                                                  &reason),
                      CC_E_BAD_SIGNATURE);
    cc_signed_clear (&envelope);
    ck_assert_int_eq (cc_signed_make (key, CC_DOMAIN_TX, FIXTURE_CHAIN, &response->base,
                                      &envelope),
                      0);
    ck_assert_int_eq (cc_challenge_open_response (&envelope, FIXTURE_CHAIN, challenge, &opened,
                                                  &reason),
                      CC_E_BAD_SIGNATURE);
    cc_signed_clear (&envelope);
    ck_assert_int_eq (cc_signed_make (other, CC_DOMAIN_JOIN, FIXTURE_CHAIN, &response->base,
                                      &envelope),
                      0);
    ck_assert_int_eq (cc_challenge_open_response (&envelope, FIXTURE_CHAIN, challenge, &opened,
                                                  &reason),
                      CC_E_WRONG_NODE_KEY);
    ck_assert_int_eq (reason.code, CC_E_WRONG_NODE_KEY);
    ck_assert_ptr_null (opened);
    cc_signed_clear (&envelope);

    cc_challenge_response_free (&response);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
    cc_keypair_destroy (&other);
}
END_TEST

START_TEST (test_wrong_answer_count)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge;
    Certchain__ChallengeResponse *response;
    s_issue_and_solve (&params, key, &challenge, &response, NULL);
    cc_reason_t reason;
    response->n_answers--;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           S_NOW + 1, NULL, &reason),
                      CC_E_WRONG_ANSWER_COUNT);
    ck_assert_str_eq (reason.text, "7 answers for 8 packets");
    response->n_answers = 0;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           S_NOW + 1, NULL, &reason),
                      CC_E_WRONG_ANSWER_COUNT);
    response->n_answers = 8;
    //  An x of the wrong size.
    response->answers [2]->x.len = 31;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           S_NOW + 1, NULL, &reason),
                      CC_E_BAD_FIELD);
    ck_assert_str_eq (reason.text, "x of packet 2 must be 32 bytes");
    response->answers [2]->x.len = 32;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           S_NOW + 1, NULL, &reason),
                      0);
    cc_challenge_response_free (&response);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
}
END_TEST

START_TEST (test_unknown_challenge)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge;
    Certchain__ChallengeResponse *response;
    s_issue_and_solve (&params, key, &challenge, &response, NULL);
    //  A correct answer to one challenge, presented against another.
    Certchain__Challenge *other = cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    cc_reason_t reason;
    ck_assert_int_eq (cc_challenge_verify (other, response, cc_keypair_public (key), S_NOW + 1,
                                           NULL, &reason),
                      CC_E_CHALLENGE_UNKNOWN);
    //  A missing challenge id.
    ProtobufCBinaryData saved = response->challenge_id;
    response->challenge_id.len = 0;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           S_NOW + 1, NULL, &reason),
                      CC_E_CHALLENGE_UNKNOWN);
    response->challenge_id = saved;
    cc_challenge_free (&other);
    cc_challenge_response_free (&response);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
}
END_TEST

//  A candidate refuses a malformed or impossible challenge instead of
//  allocating or spinning without end.
START_TEST (test_solve_refuses_bad_challenges)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = s_small_params ();
    Certchain__Challenge *challenge =
        cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    Certchain__ChallengeResponse *response = NULL;
    cc_reason_t reason;

    challenge->seeds [5].len = 31;
    ck_assert_int_eq (cc_challenge_check (challenge, &reason), CC_E_BAD_FIELD);
    ck_assert_str_eq (reason.text, "challenge seed of packet 5 must be 32 bytes");
    ck_assert_int_eq (cc_challenge_solve (challenge, cc_keypair_public (key), 1, &response, NULL),
                      CC_E_BAD_FIELD);
    challenge->seeds [5].len = 32;
    challenge->difficulty_bits = CC_CHALLENGE_MAX_DIFFICULTY + 1;
    ck_assert_int_eq (cc_challenge_solve (challenge, cc_keypair_public (key), 1, &response, NULL),
                      CC_E_BAD_FIELD);
    challenge->difficulty_bits = 8;
    challenge->argon2_memory_kib = CC_CHALLENGE_MAX_MEMORY_KIB + 1;
    ck_assert_int_eq (cc_challenge_solve (challenge, cc_keypair_public (key), 1, &response, NULL),
                      CC_E_BAD_FIELD);
    challenge->argon2_memory_kib = 1024;
    challenge->deadline_ms = challenge->issued_ms - 1;
    ck_assert_int_eq (cc_challenge_solve (challenge, cc_keypair_public (key), 1, &response, NULL),
                      CC_E_BAD_FIELD);
    ck_assert_ptr_null (response);

    //  Work that cannot finish in the time allowed stops at that time.
    challenge->difficulty_bits = CC_CHALLENGE_MAX_DIFFICULTY;
    challenge->deadline_ms = challenge->issued_ms + 200;
    cc_challenge_stats_t stats;
    ck_assert_int_eq (cc_challenge_solve (challenge, cc_keypair_public (key), 2, &response,
                                          &stats),
                      CC_E_TIMEOUT);
    ck_assert_ptr_null (response);
    ck_assert_uint_lt (stats.elapsed_ms, 5000);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
}
END_TEST

//  --- DESIGN's defaults -----------------------------------------------------------

START_TEST (test_default_size_timings)
{
    cc_keypair_t *key = fixture_keypair (1);
    cc_challenge_params_t params = cc_challenge_params_default ();
    //  The default 5 s deadline is for real machines; sanitizer and
    //  valgrind runs are many times slower, so this run allows more.
    params.deadline_ms = 600000;
    Certchain__Challenge *challenge;
    Certchain__ChallengeResponse *response;
    cc_challenge_stats_t stats;
    challenge = cc_challenge_issue (&params, cc_keypair_public (key), S_NOW);
    ck_assert_int_eq (cc_challenge_solve (challenge, cc_keypair_public (key), 0, &response,
                                          &stats),
                      0);
    cc_challenge_verdict_t verdict;
    cc_reason_t reason;
    ck_assert_int_eq (cc_challenge_verify (challenge, response, cc_keypair_public (key),
                                           S_NOW + stats.elapsed_ms, &verdict, &reason),
                      0);
    ck_assert_uint_eq (stats.argon2_evaluations, 32);
    ck_assert_uint_eq (verdict.argon2_checked, 4);
    printf ("defaults (N=32, d=16, 8 MiB, t=1): solve %llu ms on %zu threads, "
            "%llu hashes, %llu Argon2id\n",
            (unsigned long long) stats.elapsed_ms, stats.threads,
            (unsigned long long) stats.hashes, (unsigned long long) stats.argon2_evaluations);
    printf ("defaults: verify with sample 4: %.1f ms; score %.0f hashes/s, %.1f MiB/s\n",
            verdict.verify_ms, verdict.score.hashes_per_second,
            verdict.score.argon2_mib_per_second);
    cc_challenge_response_free (&response);
    cc_challenge_free (&challenge);
    cc_keypair_destroy (&key);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("challenge");
    TCase *tcase = tcase_create ("core");
    tcase_set_timeout (tcase, 120);
    tcase_add_test (tcase, test_params_and_issue);
    tcase_add_test (tcase, test_expired);
    tcase_add_test (tcase, test_honest_answer_passes);
    tcase_add_test (tcase, test_wire_round_trip);
    tcase_add_test (tcase, test_wrong_nonce_refused);
    tcase_add_test (tcase, test_forged_x_caught_by_full_sample);
    tcase_add_test (tcase, test_sampling_catches_forgery);
    tcase_add_test (tcase, test_sample_judged_in_draw_order);
    tcase_add_test (tcase, test_deadline);
    tcase_add_test (tcase, test_wrong_node_key);
    tcase_add_test (tcase, test_wrong_answer_count);
    tcase_add_test (tcase, test_unknown_challenge);
    tcase_add_test (tcase, test_solve_refuses_bad_challenges);
    tcase_add_test (tcase, test_default_size_timings);
    suite_add_tcase (suite, tcase);
    return fixture_run (suite);
}
